// The writer's queue: which pushes wake a taker (job_queue::notified counts them).

#include "store/threaded_database.hpp"

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

} // namespace
} // namespace parley::store
