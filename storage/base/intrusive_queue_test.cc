#include "lsmscan/storage/base/intrusive_queue.h"

#include "gtest/gtest.h"

namespace lsmscan {
namespace {

struct Node {
  int value = 0;
  Node* next = nullptr;
};

TEST(IntrusiveQueueTest, FifoOrderAndCount) {
  Node nodes[4] = {{1}, {2}, {3}, {4}};
  IntrusiveQueue<Node> queue;
  EXPECT_TRUE(queue.empty());
  for (Node& node : nodes) queue.PushBack(&node);
  EXPECT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue.front(), &nodes[0]);
  for (int expected = 1; expected <= 4; expected++) {
    Node* node = queue.PopFront();
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->value, expected);
    EXPECT_EQ(node->next, nullptr);
  }
  EXPECT_EQ(queue.PopFront(), nullptr);
  EXPECT_TRUE(queue.empty());
}

TEST(IntrusiveQueueTest, RemoveHeadMiddleTailAndAbsent) {
  Node nodes[4] = {{1}, {2}, {3}, {4}};
  IntrusiveQueue<Node> queue;
  for (Node& node : nodes) queue.PushBack(&node);
  EXPECT_TRUE(queue.Remove(&nodes[1]));
  EXPECT_TRUE(queue.Remove(&nodes[0]));
  EXPECT_TRUE(queue.Remove(&nodes[3]));
  EXPECT_FALSE(queue.Remove(&nodes[3]));
  EXPECT_EQ(queue.size(), 1u);
  queue.PushBack(&nodes[0]);  // The tail was fixed up by Remove().
  EXPECT_EQ(queue.PopFront(), &nodes[2]);
  EXPECT_EQ(queue.PopFront(), &nodes[0]);
  EXPECT_TRUE(queue.empty());
}

TEST(IntrusiveQueueTest, MoveLeavesSourceEmpty) {
  Node nodes[2];
  IntrusiveQueue<Node> source;
  source.PushBack(&nodes[0]);
  source.PushBack(&nodes[1]);
  IntrusiveQueue<Node> target = std::move(source);
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(target.size(), 2u);
  EXPECT_EQ(target.PopFront(), &nodes[0]);
}

TEST(IntrusiveQueueDeathTest, PushingANodeTwiceAborts) {
  Node node;
  IntrusiveQueue<Node> queue;
  queue.PushBack(&node);
  EXPECT_DEATH(queue.PushBack(&node), "assertion failed");
}

}  // namespace
}  // namespace lsmscan
