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
      active_ = nthreads_ - 1;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work(0);
    // Wait for the workers: spin briefly (they finish within microseconds of the caller on a
    // balanced split), then block.
    auto t0 = std::chrono::steady_clock::now();
    while (true) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (active_ == 0) break;
      }
      if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) {
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [this] { return active_ == 0; });
        break;
      }
      std::this_thread::yield();
    }
    job_ = nullptr;
  }

 private:
  // Tasks are dealt out statically (thread tid takes tid, tid + nthreads, ...): kernels that
  // keep per-thread partial sums then add the same numbers in the same order on every run,
  // so training with a fixed seed repeats exactly.
  void work(int tid) {
    const std::function<void(int, int)>& fn = *job_;
    int n = ntasks_;
    for (int t = tid; t < n; t += nthreads_) fn(tid, t);
  }

  // `seen` is the generation at the worker's creation, read by the creating thread: reading it
  // here instead would miss a job posted before this thread first ran (and deadlock).
  void worker(int tid, long seen) {
    while (true) {
      // Spin a little for the next job (kernels come back to back), then sleep.
      auto t0 = std::chrono::steady_clock::now();
      bool got = false;
      while (std::chrono::steady_clock::now() - t0 < std::chrono::microseconds(200)) {
        if (generation_.load(std::memory_order_acquire) != seen || quit_.load()) {
          got = true;
          break;
        }
        std::this_thread::yield();
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] {
          return generation_.load(std::memory_order_acquire) != seen || quit_.load();
        });
      }
      if (quit_.load()) return;
      {
        std::lock_guard<std::mutex> lk(mu_);
        seen = generation_.load(std::memory_order_acquire);
      }
      work(tid);
      {
        std::lock_guard<std::mutex> lk(mu_);
        --active_;
      }
      done_cv_.notify_one();
    }
  }

  void start(int n) {
    nthreads_ = n < 1 ? 1 : (n > 64 ? 64 : n);
    quit_.store(false);
    const long gen = generation_.load();
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back(&Pool::worker, this, i, gen);
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
  const std::function<void(int, int)>* job_ = nullptr;
  int ntasks_ = 0;
  int active_ = 0;
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
