// The writer's queue: which pushes wake a taker (job_queue::notified counts them), and the
// claim on its jobs that the taker and a thread committing a light load itself share.

#include "store/job_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace parley::store {
namespace {

class marker_job final : public job {
public:
  explicit marker_job(bool deferrable) : deferrable_(deferrable) {}
  void complete(std::exception_ptr) override {}
  [[nodiscard]] bool deferrable() const override { return deferrable_; }

private:
  bool deferrable_;
};

std::unique_ptr<job> urgent() {
  return std::make_unique<marker_job>(false);
}
std::unique_ptr<job> deferrable() {
  return std::make_unique<marker_job>(true);
}

constexpr std::chrono::hours k_long{1};

TEST(job_queue, a_deferrable_job_after_recent_work_wakes_nobody_and_rides_with_the_next) {
  job_queue queue(k_long);
  std::vector<std::unique_ptr<job>> batch;
  queue.push(urgent());
  ASSERT_TRUE(queue.take(batch, 10));
  EXPECT_EQ(batch.size(), 1U);
  const auto before = queue.notified();
  queue.push(deferrable());
  EXPECT_EQ(queue.notified(), before); // the taker sleeps with a deadline: no wake-up
  queue.push(urgent());
  EXPECT_EQ(queue.notified(), before + 1);
  ASSERT_TRUE(queue.take(batch, 10));
  ASSERT_EQ(batch.size(), 2U);
  EXPECT_TRUE(batch[0]->deferrable());
  EXPECT_FALSE(batch[1]->deferrable());
}

TEST(job_queue, a_deferrable_job_wakes_a_taker_that_sleeps_without_a_deadline) {
  job_queue queue(k_long);
  std::vector<std::unique_ptr<job>> taken;
  std::thread taker([&] { queue.take(taken, 10); });
  // The taker has taken nothing yet, so it sleeps without a deadline: the deferrable job must
  // wake it (to learn the job's deadline) until an urgent one ends the wait.
  while (!queue.has_taker_without_deadline()) {
    std::this_thread::yield();
  }
  queue.push(deferrable());
  EXPECT_EQ(queue.notified(), 1U);
  queue.push(urgent());
  taker.join();
  EXPECT_EQ(taken.size(), 2U);
}

TEST(job_queue, deferrable_jobs_alone_are_taken_once_the_oldest_has_waited_its_limit) {
  job_queue queue(std::chrono::milliseconds(1));
  std::vector<std::unique_ptr<job>> batch;
  queue.push(deferrable());
  queue.push(deferrable());
  ASSERT_TRUE(queue.take(batch, 10)); // no urgent job comes: the limit ends the wait
  EXPECT_EQ(batch.size(), 2U);
}

TEST(job_queue, a_queue_without_a_limit_wakes_a_taker_for_every_job) {
  job_queue queue;
  std::vector<std::unique_ptr<job>> batch;
  queue.push(urgent());
  ASSERT_TRUE(queue.take(batch, 10));
  std::thread taker([&] { queue.take(batch, 10); });
  while (!queue.has_taker_without_deadline()) {
    std::this_thread::yield();
  }
  queue.push(urgent());
  taker.join();
  EXPECT_EQ(batch.size(), 1U);
  EXPECT_EQ(queue.notified(), 2U);
}

TEST(job_queue, stop_hands_out_what_is_queued_then_refuses) {
  job_queue queue(k_long);
  std::vector<std::unique_ptr<job>> batch;
  queue.push(deferrable());
  queue.stop();
  ASSERT_TRUE(queue.take(batch, 10)); // without waiting the deferrable job's hour
  EXPECT_EQ(batch.size(), 1U);
  EXPECT_FALSE(queue.take(batch, 10));
}

// The job_queue::takers::one_claiming queue of a writer, without a defer limit.
job_queue claiming_queue() {
  return job_queue({}, job_queue::takers::one_claiming);
}

// As an I/O thread would: pushes one job held, claims the queue and takes what waits.
std::vector<std::unique_ptr<job>> claim_one(job_queue& queue) {
  queue.push(urgent(), true);
  EXPECT_EQ(queue.try_claim(8), job_queue::claim::claimed);
  std::vector<std::unique_ptr<job>> here;
  queue.take_claimed(here, 10);
  return here;
}

TEST(job_queue, a_claim_is_had_only_for_a_light_queue_that_nobody_holds) {
  auto queue = claiming_queue();
  using claim = job_queue::claim;
  EXPECT_EQ(queue.try_claim(2), claim::empty);
  queue.push(deferrable(), true);
  EXPECT_EQ(queue.try_claim(2), claim::empty); // deferrable jobs alone are the taker's
  for (int index = 0; index < 3; ++index) {
    queue.push(urgent(), true);
  }
  EXPECT_EQ(queue.notified(), 0U); // held pushes wake nobody
  EXPECT_EQ(queue.try_claim(2), claim::large);
  ASSERT_EQ(queue.try_claim(3), claim::claimed);
  EXPECT_EQ(queue.try_claim(3), claim::held);
  std::vector<std::unique_ptr<job>> batch;
  queue.take_claimed(batch, 10);
  ASSERT_EQ(batch.size(), 4U); // in their order, the deferrable one first
  EXPECT_TRUE(batch[0]->deferrable());
  queue.release(batch.size());
  queue.push(urgent(), true);
  EXPECT_EQ(queue.try_claim(3), claim::large); // the last batch held four
  EXPECT_EQ(queue.try_claim(4), claim::claimed);
  queue.release(0);
  for (std::size_t index = 0; index < 4 * job_queue::k_deferrable_per_claimed; ++index) {
    queue.push(deferrable(), true);
  }
  EXPECT_EQ(queue.try_claim(4), claim::large); // 1 + 16 jobs for at most 4 × 4
  EXPECT_EQ(queue.try_claim(5), claim::claimed);
  queue.release(0);
  queue.stop();
  EXPECT_EQ(queue.try_claim(4), claim::stopped);
}

TEST(job_queue, the_taker_holds_what_it_took_until_its_next_take) {
  auto queue = claiming_queue();
  std::vector<std::unique_ptr<job>> first;
  queue.push(urgent());
  ASSERT_TRUE(queue.take(first, 10));
  queue.push(urgent(), true);
  EXPECT_EQ(queue.try_claim(8), job_queue::claim::held); // committing what it took
  std::size_t taken = 0;
  std::thread taker([&] {
    std::vector<std::unique_ptr<job>> batch;
    while (queue.take(batch, 10)) {
      taken += batch.size();
    }
  });
  // Its next take gives the claim back; it finds the job, or the claim below finds it.
  std::vector<std::unique_ptr<job>> here;
  for (bool done = false; !done;) {
    switch (queue.try_claim(8)) {
    case job_queue::claim::claimed:
      queue.take_claimed(here, 10);
      queue.release(here.size());
      done = true;
      break;
    case job_queue::claim::empty:
      done = true; // the taker took it
      break;
    default:
      std::this_thread::yield();
    }
  }
  queue.stop();
  taker.join();
  EXPECT_EQ(here.size() + taken, 1U);
}

TEST(job_queue, a_taker_waits_for_a_claim_held_elsewhere_and_is_woken_by_its_release) {
  auto queue = claiming_queue();
  queue.push(urgent(), true);
  ASSERT_EQ(queue.try_claim(8), job_queue::claim::claimed);
  std::vector<std::unique_ptr<job>> here;
  queue.take_claimed(here, 10);
  ASSERT_EQ(here.size(), 1U);
  queue.push(urgent()); // wakes the taker, which must still wait
  std::vector<std::unique_ptr<job>> taken;
  std::thread taker([&] { queue.take(taken, 10); });
  while (!queue.has_taker_waiting_for_claim()) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(taken.empty());
  queue.release(here.size());
  taker.join();
  EXPECT_EQ(taken.size(), 1U);
}

TEST(job_queue, a_release_leaves_an_idle_taker_alone_and_stop_waits_for_the_claim) {
  auto queue = claiming_queue();
  std::vector<std::unique_ptr<job>> taken;
  bool more = true;
  std::thread taker([&] {
    while (queue.take(taken, 10)) {
    }
    more = false;
  });
  while (!queue.has_taker_without_deadline()) {
    std::this_thread::yield();
  }
  auto here = claim_one(queue);
  queue.release(here.size());
  EXPECT_EQ(queue.notified(), 0U); // the release woke nobody
  // A claim held when the queue stops: the taker returns only once it is given back.
  queue.push(urgent(), true);
  ASSERT_EQ(queue.try_claim(8), job_queue::claim::claimed);
  queue.stop();
  while (!queue.has_taker_waiting_for_claim()) {
    std::this_thread::yield();
  }
  queue.take_claimed(here, 10);
  EXPECT_EQ(here.size(), 1U);
  queue.release(here.size());
  taker.join();
  EXPECT_FALSE(more);
  EXPECT_TRUE(taken.empty());
}

TEST(job_queue, a_release_wakes_the_taker_for_a_job_held_by_another_thread_meanwhile) {
  auto queue = claiming_queue();
  std::size_t taken = 0;
  std::thread taker([&] {
    std::vector<std::unique_ptr<job>> batch;
    while (queue.take(batch, 10)) {
      taken += batch.size();
    }
  });
  while (!queue.has_taker_without_deadline()) {
    std::this_thread::yield();
  }
  auto here = claim_one(queue);
  // Another I/O thread's write, pushed held; its try_claim finds the claim held and leaves it.
  queue.push(urgent(), true);
  EXPECT_EQ(queue.try_claim(8), job_queue::claim::held);
  EXPECT_EQ(queue.notified(), 0U);
  queue.release(here.size());
  EXPECT_EQ(queue.notified(), 1U); // the taker is woken for it
  queue.stop();
  taker.join();
  EXPECT_EQ(taken, 1U);
}

} // namespace
} // namespace parley::store
