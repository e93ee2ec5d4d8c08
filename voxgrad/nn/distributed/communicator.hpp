#pragma once
// voxgrad::distributed: the MPI layer under data-parallel training. A
// program's main hands its body to run(), which starts MPI and gives it the
// job's communicator (and DistributedDataParallel takes that communicator):
//
// ```cpp
// int main() {
//   return distributed::run("train", [](distributed::Communicator& comm) {
//     std::cout << "rank " << comm.rank() << " of " << comm.size() << "\n";
//     return 0;
//   });
// }
// ```
//
// NOTE [ Failure: no rank waits forever ]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A collective needs every rank. If one rank dies, throws, or stops calling
// collectives, the others would wait in their next collective forever. Three
// things prevent that:
// * a rank that crashes or exits without MPI_Finalize is noticed by the
//   launcher (mpirun), which kills the job and exits non-zero;
// * an exception is printed with the rank, then MPI_Abort ends the job
//   (run(), and Environment's destructor during unwinding);
// * every collective here is waited for with a deadline (timeout(), default
//   600 s or $VOXGRAD_DIST_TIMEOUT): a rank still waiting then prints which
//   collective did not complete and aborts the job. This also catches a
//   peer that is alive but stuck, which no launcher can see.
//
// mpi.h stays out of this header: users of voxgrad::distributed need MPI's
// library at link time, not its headers.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::distributed {

class Communicator;

/// MPI for the lifetime of the object: MPI_Init_thread with
/// MPI_THREAD_SERIALIZED (any one thread at a time may call MPI, e.g. the
/// thread that runs backward; the kernels' worker threads never do), then
/// MPI_Finalize. If MPI is already up it does
/// neither. Destroyed while an exception propagates, it does not finalize
/// (that would wait for ranks that wait for this one): it arranges for
/// MPI_Abort at process exit, after the caller has printed the error.
class Environment {
 public:
  Environment();
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  /// MPI_Init has run and MPI_Finalize has not.
  static bool active();

 private:
  bool owns_ = false;  // we initialised MPI, so we finalize it
};

/// Runs `body` inside an Environment with the world communicator. An
/// exception on any rank is printed as "<program>: rank r/w: error: <what>"
/// and ends the whole job with MPI_Abort (exit status 1), as does a non-zero
/// return on some ranks only. Returns body's status.
int run(const char* program, const std::function<int(Communicator&)>& body);

/// A collective started by an *_async call; wait() completes it (within the
/// communicator's timeout, else the job is aborted). Destroying a pending
/// Work waits for it, since MPI may still be reading or writing its buffer.
class Work {
 public:
  Work();
  ~Work();
  Work(Work&&) noexcept;
  Work& operator=(Work&&) noexcept;
  /// Completed (drives MPI's progress engine as a side effect).
  bool test();
  void wait();
  bool pending() const;

 private:
  friend class Communicator;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A group of processes, wrapping a private duplicate of an MPI
/// communicator so that this library's collectives never pair up with the
/// caller's own MPI traffic. Collectives must be called by every rank in
/// the same order. Tensors passed to collectives must be contiguous float32
/// or float64 with the same shape on every rank.
class Communicator {
 public:
  /// Every process of the job (a duplicate of MPI_COMM_WORLD). Needs MPI
  /// up (an Environment). Collective.
  static Communicator world();
  /// Another duplicate: an independent stream of collectives. Collective.
  Communicator duplicate() const;

  ~Communicator();
  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const {
    return rank_;
  }
  int size() const {
    return size_;
  }
  /// Rank 0: the one that logs and writes checkpoints.
  bool is_main() const {
    return rank_ == 0;
  }
  /// Ranks on this host (sharing its cores and memory), this one included.
  int local_size() const {
    return local_size_;
  }

  /// Seconds any collective may take before the job is aborted (default
  /// $VOXGRAD_DIST_TIMEOUT, else 600). Must be > 0.
  double timeout() const {
    return timeout_;
  }
  void set_timeout(double seconds);

  // ---- blocking collectives --------------------------------------------
  /// Sums `t` over the ranks, in place.
  void all_reduce_sum_(Tensor& t) const;
  /// Copies root's `t` into every rank's `t`.
  void broadcast_(Tensor& t, int root = 0) const;
  /// Element-wise sum of equal-length vectors over the ranks, in place.
  void all_reduce_sum(std::span<double> values) const;
  /// Every rank's `values` (same length everywhere), rank after rank.
  std::vector<uint64_t> all_gather(std::span<const uint64_t> values) const;
  /// Root's bytes on every rank (lengths may differ before the call).
  std::string broadcast_string(const std::string& s, int root = 0) const;
  void barrier() const;

  // ---- non-blocking ------------------------------------------------------
  /// Starts summing `t` in place; `what` names it in a timeout message. `t`
  /// must stay alive and untouched until the Work completes.
  [[nodiscard]] Work all_reduce_sum_async(Tensor& t, std::string what) const;
  [[nodiscard]] Work broadcast_async(
      Tensor& t, int root, std::string what) const;

  /// Prints "voxgrad::distributed: rank r/w: <why>" and ends the whole job
  /// (MPI_Abort with `code`).
  [[noreturn]] void abort(const std::string& why, int code = 1) const;

  struct Impl;  // the MPI communicator (opaque here)

 private:
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_ = 600;
};

}  // namespace voxgrad::distributed

VOXGRAD_PUBLIC_END
