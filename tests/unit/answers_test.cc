// The answers the client keeps instead of asking again (frontend/core/answers.h) and the
// runtime's use of them (frontend/cudart/answers.h): what is answered locally, and when it is
// forgotten.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "frontend/core/answers.h"
#include "frontend/cudart/answers.h"

namespace gvirtus::cudart {
namespace {

class Answers : public ::testing::Test {
 protected:
  void SetUp() override {
    client::forget_current_device();
    client::forget_answers("");
    client::forget_primary_contexts();
  }
  void TearDown() override { SetUp(); }
};

TEST_F(Answers, CurrentDeviceIsPerThreadAndForgottenWhenTheContextChanges) {
  int d = -1;
  // Forgotten (SetUp stands for a cuCtxSetCurrent): the call goes to the worker.
  EXPECT_FALSE(local_get_device(&d));
  keep_device(3);
  ASSERT_EQ(local_get_device(&d), Local(cudaSuccess));
  EXPECT_EQ(d, 3);
  EXPECT_FALSE(local_get_device(nullptr));  // the worker answers the invalid argument
  std::thread([] {
    // Another thread has its own current device: a new one's is 0 whatever others set, as
    // natively, with no call (the worker's new thread for its connection is on device 0 too).
    int other = -1;
    ASSERT_EQ(local_get_device(&other), Local(cudaSuccess));
    EXPECT_EQ(other, 0);
    client::forget_current_device();  // its own driver context call: now unknown
    EXPECT_FALSE(local_get_device(&other));
    keep_device(1);
    ASSERT_EQ(local_get_device(&other), Local(cudaSuccess));
    EXPECT_EQ(other, 1);
  }).join();
  std::thread([] {
    int other = -1;
    keep_device(2);  // a cudaSetDevice: kept, not forgotten by a later look
    ASSERT_EQ(local_get_device(&other), Local(cudaSuccess));
    EXPECT_EQ(other, 2);
  }).join();
  ASSERT_EQ(local_get_device(&d), Local(cudaSuccess));
  EXPECT_EQ(d, 3);  // the other threads' devices are their own
  client::forget_current_device();  // cuCtxSetCurrent & co.
  EXPECT_FALSE(local_get_device(&d));
}

TEST_F(Answers, DeviceQueriesByDeviceAndAttribute) {
  int count = 0;
  EXPECT_FALSE(local_device_count(&count));
  const int two = 2;
  keep_device_count(&two);
  ASSERT_EQ(local_device_count(&count), Local(cudaSuccess));
  EXPECT_EQ(count, 2);
  EXPECT_FALSE(local_device_count(nullptr));

  cudaDeviceProp p{};
  std::strcpy(p.name, "device one");
  p.multiProcessorCount = 132;
  keep_device_properties(&p, 1);
  cudaDeviceProp q{};
  EXPECT_FALSE(local_device_properties(&q, 0));  // another device
  ASSERT_EQ(local_device_properties(&q, 1), Local(cudaSuccess));
  EXPECT_STREQ(q.name, "device one");
  EXPECT_EQ(q.multiProcessorCount, 132);

  const int v = 1024;
  keep_device_attribute(&v, cudaDevAttrMaxThreadsPerBlock, 0);
  int w = 0;
  ASSERT_EQ(local_device_attribute(&w, cudaDevAttrMaxThreadsPerBlock, 0), Local(cudaSuccess));
  EXPECT_EQ(w, 1024);
  EXPECT_FALSE(local_device_attribute(&w, cudaDevAttrMaxThreadsPerBlock, 1));
  EXPECT_FALSE(local_device_attribute(&w, cudaDevAttrWarpSize, 0));
  // The compute mode can be changed by an operator while the process runs: always asked.
  keep_device_attribute(&v, cudaDevAttrComputeMode, 0);
  EXPECT_FALSE(local_device_attribute(&w, cudaDevAttrComputeMode, 0));
}

TEST_F(Answers, KernelAnswersNeedTheCurrentDeviceAndGoWhenAnAttributeIsSet) {
  const void* kernel = reinterpret_cast<const void*>(0x1234);
  const int blocks = 8;
  int have = 0;
  // The current device is part of the key: unknown, nothing is kept or answered.
  keep_occupancy("max", &blocks, kernel, 256, 0, 0);
  EXPECT_FALSE(local_occupancy("max", &have, kernel, 256, 0, 0));
  keep_device(0);
  keep_occupancy("max", &blocks, kernel, 256, 0, 0);
  ASSERT_EQ(local_occupancy("max", &have, kernel, 256, 0, 0), Local(cudaSuccess));
  EXPECT_EQ(have, 8);
  EXPECT_FALSE(local_occupancy("max", &have, kernel, 512, 0, 0));     // another block size
  EXPECT_FALSE(local_occupancy("max", &have, kernel, 256, 1024, 0));  // more shared memory
  EXPECT_FALSE(local_occupancy("flags", &have, kernel, 256, 0, 0));   // the other function
  keep_device(1);
  EXPECT_FALSE(local_occupancy("max", &have, kernel, 256, 0, 0));  // another device
  keep_device(0);

  const size_t smem = 4096;
  size_t smem_have = 0;
  keep_dynamic_smem(&smem, kernel, 2, 128);
  ASSERT_EQ(local_dynamic_smem(&smem_have, kernel, 2, 128), Local(cudaSuccess));
  EXPECT_EQ(smem_have, 4096u);

  cudaFuncAttributes a{};
  a.numRegs = 40;
  keep_kernel_attributes(77, &a);
  cudaFuncAttributes b{};
  ASSERT_EQ(local_kernel_attributes(77, &b), Local(cudaSuccess));
  EXPECT_EQ(b.numRegs, 40);
  EXPECT_FALSE(local_kernel_attributes(78, &b));

  const int two = 2;
  keep_device_count(&two);
  forget_kernel_answers();  // cudaFuncSetAttribute, cuFuncSetCacheConfig, ...
  EXPECT_FALSE(local_occupancy("max", &have, kernel, 256, 0, 0));
  EXPECT_FALSE(local_dynamic_smem(&smem_have, kernel, 2, 128));
  EXPECT_FALSE(local_kernel_attributes(77, &b));
  int count = 0;
  EXPECT_EQ(local_device_count(&count), Local(cudaSuccess));  // device answers stay
}

// PyTorch sets the same kernel attribute before each launch: a value set again is answered
// locally and forgets nothing; a new value forgets the kernels' answers, as does any driver
// setter (forget_kernel_answers), after which the value is asked again.
TEST_F(Answers, SettingAKernelAttributeAgainIsAnsweredLocally) {
  const void* f = reinterpret_cast<const void*>(0x5678);
  const cudaFuncAttribute smem = cudaFuncAttributeMaxDynamicSharedMemorySize;
  EXPECT_FALSE(local_func_set_attribute(f, smem, 1000));  // device unknown
  keep_device(0);
  EXPECT_FALSE(local_func_set_attribute(f, smem, 1000));  // never set
  cudaFuncAttributes a{}, b{};
  keep_kernel_attributes(77, &a);
  kernel_attribute_set(f, smem, 1000);
  EXPECT_FALSE(local_kernel_attributes(77, &b));  // a new value: attributes asked again
  EXPECT_EQ(local_func_set_attribute(f, smem, 1000), Local(cudaSuccess));
  keep_kernel_attributes(77, &a);
  kernel_attribute_set(f, smem, 1000);  // the same value again
  EXPECT_EQ(local_kernel_attributes(77, &b), Local(cudaSuccess));
  EXPECT_FALSE(local_func_set_attribute(f, smem, 2000));  // another value
  EXPECT_FALSE(local_func_set_attribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, 1000));
  EXPECT_FALSE(local_func_set_attribute(reinterpret_cast<const void*>(0x9), smem, 1000));
  keep_device(1);
  EXPECT_FALSE(local_func_set_attribute(f, smem, 1000));  // another device
  keep_device(0);
  forget_kernel_answers();  // cuFuncSetAttribute may have changed it behind our back
  EXPECT_FALSE(local_func_set_attribute(f, smem, 1000));
  kernel_attribute_set(f, smem, 1000);
  device_reset();  // cudaDeviceReset: attributes back to their defaults
  EXPECT_FALSE(local_func_set_attribute(f, smem, 1000));
}

// The driver's current context (cuCtxGetCurrent) and primary context states
// (cuDevicePrimaryCtxGetState), asked by PyTorch around every operation.
TEST_F(Answers, CurrentContextIsKeptUntilItOrTheDeviceChanges) {
  void* ctx = nullptr;
  void* const c0 = reinterpret_cast<void*>(0xc0);
  client::remember_current_context(c0);
  EXPECT_FALSE(client::recall_current_context(&ctx));  // the thread's device is not known
  keep_device(0);
  client::remember_current_context(nullptr);  // the runtime's next call makes one current
  EXPECT_FALSE(client::recall_current_context(&ctx));
  client::remember_current_context(c0);
  ASSERT_TRUE(client::recall_current_context(&ctx));
  EXPECT_EQ(ctx, c0);
  std::thread([] {
    void* other = nullptr;
    EXPECT_FALSE(client::recall_current_context(&other));  // per thread
  }).join();
  keep_device(0);  // cudaGetDevice: the same device, the same context
  EXPECT_TRUE(client::recall_current_context(&ctx));
  keep_device(1);  // another device
  EXPECT_FALSE(client::recall_current_context(&ctx));
  keep_device(0);
  client::remember_current_context(c0);
  keep_device_set(0);  // cudaSetDevice makes the primary context current, even on device 0
  EXPECT_FALSE(client::recall_current_context(&ctx));
  client::remember_current_context(c0);
  client::forget_current_device();  // cuCtxSetCurrent & co.
  EXPECT_FALSE(client::recall_current_context(&ctx));
  keep_device(0);
  client::remember_current_context(c0);
  // A reset or release of a primary context, on any thread, forgets every thread's context.
  std::thread([] { client::forget_primary_contexts(); }).join();
  EXPECT_FALSE(client::recall_current_context(&ctx));
}

TEST_F(Answers, PrimaryContextStateIsKeptWhileActive) {
  unsigned flags = 0;
  int active = 0;
  client::remember_primary_context(0, 4, 0);  // inactive: it becomes active unseen
  EXPECT_FALSE(client::recall_primary_context(0, &flags, &active));
  client::remember_primary_context(0, 4, 1);
  ASSERT_TRUE(client::recall_primary_context(0, &flags, &active));
  EXPECT_EQ(flags, 4u);
  EXPECT_EQ(active, 1);
  EXPECT_FALSE(client::recall_primary_context(1, &flags, &active));  // another device
  client::forget_primary_contexts();  // cudaSetDeviceFlags, cuDevicePrimaryCtxReset, ...
  EXPECT_FALSE(client::recall_primary_context(0, &flags, &active));
}

// cudaStreamIsCapturing is answered locally only for a stream known to be valid, while no
// capture may be active and no error was recorded (a sticky one would be the answer).
TEST_F(Answers, IsCapturingNeedsAValidStreamAndNoCapture) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusActive;
  cudaStream_t mine = reinterpret_cast<cudaStream_t>(0x0100000000000042);
  EXPECT_FALSE(local_is_capturing(mine, &st));  // never created here
  stream_created(&mine);
  EXPECT_FALSE(local_is_capturing(mine, nullptr));  // the worker answers the bad argument
  client::note_capture_begun();
  EXPECT_FALSE(local_is_capturing(mine, &st));
  EXPECT_FALSE(local_is_capturing(nullptr, &st));
  client::note_capture_ended();
  stream_destroyed(mine);
  EXPECT_FALSE(local_is_capturing(mine, &st));  // destroyed: the worker says it is invalid
  EXPECT_EQ(st, cudaStreamCaptureStatusActive);  // nothing written when not answered
}

TEST_F(Answers, ForkedChildStartsEmpty) {
  keep_device(2);
  const int two = 2;
  keep_device_count(&two);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child's session (and worker) is a new one
    int d = -1, count = 0;
    const bool device_known = local_get_device(&d).has_value();
    const bool count_known = local_device_count(&count).has_value();
    // Nor is a new thread's device 0 before the child's runtime answered anything.
    bool new_thread_known = true;
    std::thread([&] { new_thread_known = local_get_device(&d).has_value(); }).join();
    ::_exit(device_known || count_known || new_thread_known ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child recalled answers";
  int count = 0;
  EXPECT_EQ(local_device_count(&count), Local(cudaSuccess));  // the parent keeps its own
}

TEST_F(Answers, NothingIsAnsweredOnceTheSessionIsLost) {
  keep_device(1);
  const int two = 2;
  keep_device_count(&two);
  pid_t pid = ::fork();  // losing the session is for good: in a child
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    keep_device(1);  // the child's own, so only the loss can hide them
    keep_device_count(&two);
    int d = -1, count = 0;
    if (!local_get_device(&d) || !local_device_count(&count)) ::_exit(2);
    client::mark_session_lost("test: the backend went away");
    ::_exit(local_get_device(&d) || local_device_count(&count) ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: answered after the loss; 2: not kept at all";
}

}  // namespace
}  // namespace gvirtus::cudart
