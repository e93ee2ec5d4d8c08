#include "voxgrad/nn/distributed/communicator.hpp"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <utility>

namespace voxgrad::distributed {
namespace {

std::atomic<bool> g_abort_at_exit{false};

/// Ends every process of the job. The pause first lets the launcher forward
/// what this process has just printed: mpirun may otherwise tear the job
/// down before the message that explains it reaches the terminal.
[[noreturn]] void abort_all(int code) {
  std::cerr.flush();
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this tells the compiler so
}

void abort_at_exit() {
  if (g_abort_at_exit.load() && Environment::active())
    abort_all(1);
}

[[noreturn]] void abort_job(int rank, int size, const std::string& why) {
  std::cerr << "voxgrad::distributed: rank " << rank << "/" << size << ": "
            << why << std::endl;
  abort_all(1);
}

void check_mpi(int rc, const char* call) {
  // MPI_COMM_WORLD's default handler is MPI_ERRORS_ARE_FATAL, so an error
  // normally never returns here; a communicator set to MPI_ERRORS_RETURN
  // would.
  if (rc == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(call) + " failed: " + std::string(text, len));
}

double default_timeout() {
  const char* env = std::getenv("VOXGRAD_DIST_TIMEOUT");
  if (env == nullptr || *env == '\0')
    return 600;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  VOXGRAD_CHECK(
      end != env && *end == '\0' && v > 0 && v < 1e9,
      "VOXGRAD_DIST_TIMEOUT must be a number of seconds in (0, 1e9) (got '",
      env, "')");
  return v;
}

/// Waits for `req` until `timeout` seconds have passed, then aborts the job
/// naming `what`. See NOTE [ Failure: no rank waits forever ].
void wait_request(
    MPI_Request& req,
    double timeout,
    const std::string& what,
    int rank,
    int size) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done)
      return;
    const double waited =
        std::chrono::duration<double>(Clock::now() - start).count();
    if (waited > timeout)
      abort_job(
          rank, size,
          what + " did not complete within " + std::to_string(timeout) +
              " s: another rank has probably died or stopped calling "
              "collectives. Aborting the job (set VOXGRAD_DIST_TIMEOUT, in "
              "seconds, to wait longer).");
    // Spin briefly for latency, then give the core away: with as many
    // ranks as cores, a spinning rank steals the time its peer needs to
    // reach the collective.
    if (waited < 1e-3)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

MPI_Datatype tensor_type(const Tensor& t, const char* op) {
  VOXGRAD_CHECK(t.defined(), op, ": the tensor is undefined");
  VOXGRAD_CHECK(
      t.is_contiguous(), op, ": the tensor must be contiguous (got shape ",
      shape_str(t.shape()), " with strides ", shape_str(t.strides()),
      "); pass t.contiguous()");
  VOXGRAD_CHECK(
      t.numel() <= INT_MAX, op, ": ", t.numel(),
      " elements exceed MPI's count limit (", INT_MAX, "); split the tensor");
  switch (t.dtype()) {
    case Dtype::Float32:
      return MPI_FLOAT;
    case Dtype::Float64:
      return MPI_DOUBLE;
  }
  throw Error(std::string(op) + ": unsupported dtype");
}

}  // namespace

// ---- Environment ------------------------------------------------------------

Environment::Environment() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized)
    return;
  int provided = 0;
  check_mpi(
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided),
      "MPI_Init_thread");
  owns_ = true;
  static const bool registered = [] {
    std::atexit(abort_at_exit);
    return true;
  }();
  (void)registered;
}

Environment::~Environment() {
  if (!owns_ || !active())
    return;
  if (std::uncaught_exceptions() > 0) {
    // The caller is about to print the error; abort when the process ends.
    g_abort_at_exit = true;
    return;
  }
  MPI_Finalize();
}

bool Environment::active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int run(const char* program, const std::function<int(Communicator&)>& body) {
  Environment env;
  int status = 0;
  {
    // The final check below gets a communicator of its own, so that it
    // cannot pair up with a collective the body left unfinished elsewhere.
    Communicator control = Communicator::world();
    Communicator comm = Communicator::world();
    try {
      status = body(comm);
    } catch (const std::exception& e) {
      std::cerr << program << ": rank " << comm.rank() << "/" << comm.size()
                << ": error: " << e.what() << std::endl;
      abort_all(1);
    }
    // All ranks failing alike (e.g. the same bad flag) is an ordinary
    // error exit; some ranks only would leave the others waiting.
    double failed[1] = {status != 0 ? 1.0 : 0.0};
    control.all_reduce_sum(failed);
    if (failed[0] > 0 && failed[0] < comm.size())
      comm.abort(
          std::string(program) + " returned " + std::to_string(status) +
          " on " + std::to_string(static_cast<int>(failed[0])) + " of " +
          std::to_string(comm.size()) + " ranks");
  }
  return status;
}

// ---- Work -------------------------------------------------------------------

struct Work::Impl {
  MPI_Request req = MPI_REQUEST_NULL;
  Tensor keep;  // the buffer MPI reads and writes until completion
  std::string what;
  double timeout = 600;
  int rank = 0, size = 1;
};

Work::Work() = default;
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&& other) noexcept {
  if (this != &other) {
    if (pending())
      wait();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Work::~Work() {
  if (pending() && Environment::active())
    wait();
}

bool Work::pending() const {
  return impl_ && impl_->req != MPI_REQUEST_NULL;
}

bool Work::test() {
  if (!pending())
    return true;
  int done = 0;
  check_mpi(MPI_Test(&impl_->req, &done, MPI_STATUS_IGNORE), "MPI_Test");
  return done != 0;
}

void Work::wait() {
  if (!pending())
    return;
  wait_request(
      impl_->req, impl_->timeout, impl_->what, impl_->rank, impl_->size);
}

// ---- Communicator -----------------------------------------------------------

struct Communicator::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  ~Impl() {
    if (comm != MPI_COMM_NULL && Environment::active())
      MPI_Comm_free(&comm);
  }
};

namespace {
MPI_Comm native(const std::unique_ptr<Communicator::Impl>& impl) {
  VOXGRAD_CHECK(
      impl && impl->comm != MPI_COMM_NULL,
      "Communicator: used after being moved from");
  return impl->comm;
}
}  // namespace

Communicator::Communicator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), timeout_(default_timeout()) {
  MPI_Comm_rank(impl_->comm, &rank_);
  MPI_Comm_size(impl_->comm, &size_);
  MPI_Comm local = MPI_COMM_NULL;
  check_mpi(
      MPI_Comm_split_type(
          impl_->comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
      "MPI_Comm_split_type");
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

Communicator::~Communicator() = default;
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;

Communicator Communicator::world() {
  VOXGRAD_CHECK(
      Environment::active(),
      "Communicator::world: MPI is not initialised (create a "
      "distributed::Environment first, or use distributed::run)");
  auto impl = std::make_unique<Impl>();
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(MPI_Comm_idup(MPI_COMM_WORLD, &impl->comm, &req), "MPI_Comm_idup");
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  wait_request(req, default_timeout(), "MPI_Comm_idup", rank, size);
  return Communicator(std::move(impl));
}

Communicator Communicator::duplicate() const {
  auto impl = std::make_unique<Impl>();
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(MPI_Comm_idup(native(impl_), &impl->comm, &req), "MPI_Comm_idup");
  wait_request(req, timeout_, "duplicate", rank_, size_);
  Communicator c(std::move(impl));
  c.timeout_ = timeout_;
  return c;
}

void Communicator::set_timeout(double seconds) {
  VOXGRAD_CHECK(
      seconds > 0 && seconds < 1e9,
      "Communicator::set_timeout: seconds must be in (0, 1e9) (got ", seconds,
      ")");
  timeout_ = seconds;
}

Work Communicator::all_reduce_sum_async(Tensor& t, std::string what) const {
  const MPI_Datatype type = tensor_type(t, "all_reduce_sum");
  Work w;
  w.impl_ = std::make_unique<Work::Impl>(
      Work::Impl{MPI_REQUEST_NULL, t, std::move(what), timeout_, rank_, size_});
  check_mpi(
      MPI_Iallreduce(
          MPI_IN_PLACE, t.mutable_raw_data(), static_cast<int>(t.numel()), type,
          MPI_SUM, native(impl_), &w.impl_->req),
      "MPI_Iallreduce");
  return w;
}

Work Communicator::broadcast_async(
    Tensor& t, int root, std::string what) const {
  const MPI_Datatype type = tensor_type(t, "broadcast");
  VOXGRAD_CHECK(
      root >= 0 && root < size_, "broadcast: root must be in [0, ", size_,
      ") (got ", root, ")");
  Work w;
  w.impl_ = std::make_unique<Work::Impl>(
      Work::Impl{MPI_REQUEST_NULL, t, std::move(what), timeout_, rank_, size_});
  check_mpi(
      MPI_Ibcast(
          t.mutable_raw_data(), static_cast<int>(t.numel()), type, root,
          native(impl_), &w.impl_->req),
      "MPI_Ibcast");
  return w;
}

void Communicator::all_reduce_sum_(Tensor& t) const {
  all_reduce_sum_async(t, "all_reduce_sum of " + shape_str(t.shape())).wait();
}

void Communicator::broadcast_(Tensor& t, int root) const {
  broadcast_async(t, root, "broadcast of " + shape_str(t.shape())).wait();
}

void Communicator::all_reduce_sum(std::span<double> values) const {
  VOXGRAD_CHECK(
      values.size() <= INT_MAX, "all_reduce_sum: too many values (",
      values.size(), ")");
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(
      MPI_Iallreduce(
          MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
          MPI_DOUBLE, MPI_SUM, native(impl_), &req),
      "MPI_Iallreduce");
  wait_request(req, timeout_, "all_reduce_sum of values", rank_, size_);
}

std::vector<uint64_t> Communicator::all_gather(
    std::span<const uint64_t> values) const {
  VOXGRAD_CHECK(
      values.size() <= INT_MAX / static_cast<size_t>(size_),
      "all_gather: too many values (", values.size(), ")");
  std::vector<uint64_t> out(values.size() * static_cast<size_t>(size_));
  const int n = static_cast<int>(values.size());
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(
      MPI_Iallgather(
          values.data(), n, MPI_UINT64_T, out.data(), n, MPI_UINT64_T,
          native(impl_), &req),
      "MPI_Iallgather");
  wait_request(req, timeout_, "all_gather", rank_, size_);
  return out;
}

std::string Communicator::broadcast_string(
    const std::string& s, int root) const {
  VOXGRAD_CHECK(
      root >= 0 && root < size_, "broadcast_string: root must be in [0, ",
      size_, ") (got ", root, ")");
  VOXGRAD_CHECK(
      s.size() <= INT_MAX, "broadcast_string: ", s.size(),
      " bytes is too long");
  uint64_t len = s.size();
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(
      MPI_Ibcast(&len, 1, MPI_UINT64_T, root, native(impl_), &req),
      "MPI_Ibcast");
  wait_request(req, timeout_, "broadcast_string (length)", rank_, size_);
  std::string out = rank_ == root ? s : std::string(len, '\0');
  check_mpi(
      MPI_Ibcast(
          out.data(), static_cast<int>(len), MPI_CHAR, root, native(impl_),
          &req),
      "MPI_Ibcast");
  wait_request(req, timeout_, "broadcast_string", rank_, size_);
  return out;
}

void Communicator::barrier() const {
  MPI_Request req = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibarrier(native(impl_), &req), "MPI_Ibarrier");
  wait_request(req, timeout_, "barrier", rank_, size_);
}

void Communicator::abort(const std::string& why, int code) const {
  std::cerr << "voxgrad::distributed: rank " << rank_ << "/" << size_ << ": "
            << why << std::endl;
  abort_all(code);
}

}  // namespace voxgrad::distributed
