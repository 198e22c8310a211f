#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace pw {
namespace {

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int threads() const { return nthreads_; }

  void resize(int n) {
    stop();
    start(n);
  }

  void run(int ntasks, const std::function<void(int, int)>& fn) {
    if (ntasks <= 0) return;
    if (nthreads_ == 1 || ntasks == 1) {
      for (int t = 0; t < ntasks; ++t) fn(0, t);
      return;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      ntasks_ = ntasks;
      next_ = 0;
      done_ = 0;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    drain(0);
    // Wait until every task has finished: spin briefly (a worker is usually mid-task), then
    // block. Workers that wake after the last task was claimed find nothing to do.
    auto t0 = std::chrono::steady_clock::now();
    while (true) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (done_ == ntasks_) break;
      }
      if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) {
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [this] { return done_ == ntasks_; });
        break;
      }
      std::this_thread::yield();
    }
    std::lock_guard<std::mutex> lk(mu_);
    job_ = nullptr;
  }

 private:
  // Tasks are claimed one at a time under the lock by whichever thread is free, so a thread
  // that is descheduled (a busy machine) or wakes late delays nothing: the others take its
  // share. Kernels that sum partial results keep one partial per task (never per thread) and
  // add them in task order, so a seeded run repeats exactly however the tasks were shared.
  // Returns false when the current job has no unclaimed task left.
  bool claim(int* task, const std::function<void(int, int)>** fn) {
    std::lock_guard<std::mutex> lk(mu_);
    if (job_ == nullptr || next_ >= ntasks_) return false;
    *task = next_++;
    *fn = job_;
    return true;
  }

  void finish() {
    bool last;
    {
      std::lock_guard<std::mutex> lk(mu_);
      last = ++done_ == ntasks_;
    }
    if (last) done_cv_.notify_one();
  }

  void drain(int tid) {
    int t;
    const std::function<void(int, int)>* fn;
    while (claim(&t, &fn)) {
      (*fn)(tid, t);
      finish();
    }
  }

  void worker(int tid) {
    long seen = 0;
    while (true) {
      // Spin a little for the next job (kernels come back to back), then sleep.
      auto t0 = std::chrono::steady_clock::now();
      bool got = false;
      while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(300)) {
        if (generation_.load(std::memory_order_acquire) != seen || quit_.load()) {
          got = true;
          break;
        }
        std::this_thread::yield();
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load() != seen || quit_.load(); });
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (quit_) return;
        seen = generation_.load();
      }
      drain(tid);
    }
  }

  void start(int n) {
    nthreads_ = n < 1 ? 1 : (n > 64 ? 64 : n);
    quit_.store(false);
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back(&Pool::worker, this, i);
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_.store(true);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  // Written under mu_ (the atomics are also read without it, to spin).
  const std::function<void(int, int)>* job_ = nullptr;
  int ntasks_ = 0, next_ = 0, done_ = 0;
  std::atomic<long> generation_{0};
  std::atomic<bool> quit_{false};
};

int default_threads() {
  const char* env = std::getenv("PHASEWATCH_THREADS");
  if (env && std::atoi(env) > 0) return std::atoi(env);
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

Pool& pool() {
  // Leaked on purpose: joining threads during static destruction at process exit can hang.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int pool_threads() { return pool().threads(); }

int set_pool_threads(int n) {
  pool().resize(n);
  return pool().threads();
}

void parallel_for(int ntasks, const std::function<void(int, int)>& fn) { pool().run(ntasks, fn); }

}  // namespace pw
