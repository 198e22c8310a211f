// A tiny persistent thread pool: the calling thread plus (threads - 1) workers share the tasks
// of one parallel_for, each task claimed by whichever thread is free. Only one parallel_for
// runs at a time (tfjs calls kernels from Node's main thread only).
#pragma once
#include <functional>

namespace pw {

// Number of threads a parallel_for uses (the caller included); at least 1.
int pool_threads();
// Sets the thread count (1..64); returns the new count. Restarts the workers.
int set_pool_threads(int n);
// Runs fn(thread_index, task) for every task in [0, ntasks); thread_index < pool_threads()
// (use it for scratch space only: which thread runs which task varies from run to run).
void parallel_for(int ntasks, const std::function<void(int, int)>& fn);

}  // namespace pw
