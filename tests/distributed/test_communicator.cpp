// Communicator: collectives on tensors and values, and argument errors.

#include "dist_test_util.hpp"

namespace voxgrad::test {

TEST_CASE("communicator sums, broadcasts and gathers") {
  const int r = comm().rank(), w = comm().size();
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    Tensor t = full({2, 3}, r + 1.0, dtype);
    comm().all_reduce_sum_(t);
    CHECK(test::allclose(t, full({2, 3}, w * (w + 1) / 2.0, dtype)));
    Tensor b = full({4}, r == w - 1 ? 7.0 : -1.0, dtype);
    comm().broadcast_(b, w - 1);
    CHECK(test::allclose(b, full({4}, 7.0, dtype)));
  }
  const uint64_t mine[2] = {static_cast<uint64_t>(r), 100};
  const auto all = comm().all_gather(mine);
  REQUIRE(all.size() == 2 * static_cast<size_t>(w));
  for (int k = 0; k < w; ++k)
    CHECK(all[2 * static_cast<size_t>(k)] == static_cast<uint64_t>(k));
  CHECK(comm().broadcast_string(r == 0 ? "from rank 0" : "") == "from rank 0");
  comm().barrier();
  // A duplicate is an independent stream with the same ranks.
  distributed::Communicator d = comm().duplicate();
  CHECK(d.rank() == r);
  CHECK(d.size() == w);
  CHECK(d.timeout() == comm().timeout());
  CHECK(d.local_size() >= 1);
  CHECK(d.local_size() <= w);
}

TEST_CASE("communicator collectives name the bad argument") {
  Tensor strided = zeros({4, 4}).transpose(0, 1);
  CHECK_ERROR_CONTAINS(
      comm().all_reduce_sum_(strided), "all_reduce_sum", "must be contiguous",
      "[4, 4]");
  Tensor t = zeros({2});
  CHECK_ERROR_CONTAINS(
      comm().broadcast_(t, comm().size()), "root must be in", "got");
  Tensor none;
  CHECK_ERROR_CONTAINS(comm().all_reduce_sum_(none), "undefined");
  distributed::Communicator d = comm().duplicate();
  CHECK_ERROR_CONTAINS(
      d.set_timeout(0), "seconds must be in (0, 1e9)", "got 0");
  d.set_timeout(5);
  CHECK(d.timeout() == 5);
}

}  // namespace voxgrad::test
