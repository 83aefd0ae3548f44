// The `gvirtus` command without a real backend: argument parsing, endpoint resolution, the
// program's environment, finding the frontend, and running programs against a fake backend.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cli/embedded.h"
#include "cli/launch.h"
#include "cli/options.h"
#include "cli/run.h"
#include "test_env.h"

namespace gvirtus::cli {
namespace {

using testenv::EnvGuard;
using testenv::TempDir;

Options parse_ok(const std::vector<std::string>& args) {
  Options o;
  Status s = parse_args(args, &o);
  EXPECT_TRUE(s) << s.to_string();
  return o;
}

std::string parse_error(const std::vector<std::string>& args) {
  Options o;
  Status s = parse_args(args, &o);
  EXPECT_FALSE(s);
  EXPECT_EQ(s.code(), Code::kInvalid);
  return s.message();
}

TEST(CliArgs, RunWithSeparator) {
  Options o = parse_ok({"run", "--endpoint", "tcp://h:1", "--log-level=debug", "--", "./app", "-x", "--", "y"});
  EXPECT_EQ(o.command, Command::kRun);
  EXPECT_EQ(o.endpoint, "tcp://h:1");
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.program, (std::vector<std::string>{"./app", "-x", "--", "y"}));
}

TEST(CliArgs, ProgramStartsAtFirstNonOption) {
  Options o = parse_ok({"run", "-c", "f.json", "-e", "unix:/s", "./app", "--endpoint", "z"});
  EXPECT_EQ(o.config, "f.json");
  EXPECT_EQ(o.endpoint, "unix:/s");
  EXPECT_EQ(o.program, (std::vector<std::string>{"./app", "--endpoint", "z"}));
}

TEST(CliArgs, Errors) {
  EXPECT_NE(parse_error({}).find("no command"), std::string::npos);
  EXPECT_NE(parse_error({"launch"}).find("unknown command \"launch\""), std::string::npos);
  EXPECT_NE(parse_error({"run", "--endpoint"}).find("--endpoint needs a value"), std::string::npos);
  EXPECT_NE(parse_error({"run", "--config="}).find("non-empty"), std::string::npos);
  EXPECT_NE(parse_error({"run", "--frobnicate", "--", "a"}).find("unknown option --frobnicate"),
            std::string::npos);
  EXPECT_NE(parse_error({"run", "--"}).find("no program"), std::string::npos);
  EXPECT_NE(parse_error({"run", "--log-level", "chatty", "a"}).find("chatty"), std::string::npos);
  EXPECT_NE(parse_error({"env", "prog"}).find("unexpected argument prog"), std::string::npos);
  EXPECT_NE(parse_error({"version", "x"}).find("takes no arguments"), std::string::npos);
}

TEST(CliArgs, HelpAndVersion) {
  EXPECT_EQ(parse_ok({"--help"}).command, Command::kHelp);
  EXPECT_EQ(parse_ok({"help"}).command, Command::kHelp);
  EXPECT_EQ(parse_ok({"run", "-h"}).command, Command::kHelp);
  EXPECT_EQ(parse_ok({"--version"}).command, Command::kVersion);
  EXPECT_EQ(parse_ok({"env"}).command, Command::kEnv);
}

// Clears everything resolve_target reads from the environment.
struct CleanEnv {
  EnvGuard ep{"GVIRTUS_ENDPOINT", nullptr};
  EnvGuard cfg{"GVIRTUS_CONFIG", nullptr};
  EnvGuard home{"GVIRTUS_HOME", nullptr};
  EnvGuard level{"GVIRTUS_LOGLEVEL", nullptr};
};

Target resolve_ok(const Options& o) {
  Target t;
  Status s = resolve_target(o, &t);
  EXPECT_TRUE(s) << s.to_string();
  return t;
}

TEST(CliTarget, NothingConfiguredMeansEmbedded) {
  CleanEnv clean;
  Target t = resolve_ok(Options{});
  EXPECT_TRUE(t.embedded);
  EXPECT_EQ(t.log_level, "");
}

TEST(CliTarget, Precedence) {
  CleanEnv clean;
  TempDir d;
  d.mkdir("etc");
  d.write("etc/properties.json", R"({"endpoint": "tcp://home:1", "log_level": "error"})");
  std::string env_cfg = d.write("env.json", R"({"endpoint": "tcp://envcfg:2"})");
  std::string flag_cfg = d.write("flag.json", R"({"endpoint": "tcp://flagcfg:3", "log_level": "debug"})");
  Options o;

  EnvGuard home("GVIRTUS_HOME", d.path().c_str());
  Target t = resolve_ok(o);
  EXPECT_EQ(t.endpoint, "tcp://home:1");
  EXPECT_EQ(t.log_level, "error");
  EXPECT_NE(t.source.find("etc/properties.json"), std::string::npos);

  EnvGuard cfg("GVIRTUS_CONFIG", env_cfg.c_str());
  EXPECT_EQ(resolve_ok(o).endpoint, "tcp://envcfg:2");

  EnvGuard ep("GVIRTUS_ENDPOINT", "tcp://envep:4");
  t = resolve_ok(o);
  EXPECT_EQ(t.endpoint, "tcp://envep:4");
  EXPECT_EQ(t.source, "GVIRTUS_ENDPOINT");

  o.config = flag_cfg;
  t = resolve_ok(o);
  EXPECT_EQ(t.endpoint, "tcp://flagcfg:3");
  EXPECT_EQ(t.log_level, "debug");

  o.endpoint = "unix:/tmp/flag.sock";
  o.log_level = "trace";
  t = resolve_ok(o);
  EXPECT_FALSE(t.embedded);
  EXPECT_EQ(t.endpoint, "unix:/tmp/flag.sock");
  EXPECT_EQ(t.source, "--endpoint");
  EXPECT_EQ(t.log_level, "trace");
}

TEST(CliTarget, EnvironmentLogLevelBeatsFile) {
  CleanEnv clean;
  TempDir d;
  Options o;
  o.config = d.write("c.json", R"({"log_level": "debug"})");
  EnvGuard level("GVIRTUS_LOGLEVEL", "error");
  Target t = resolve_ok(o);
  EXPECT_EQ(t.log_level, "");  // the environment's value reaches the program unchanged
  // A file without an endpoint passes the question on: here to the embedded default.
  EXPECT_TRUE(t.embedded);
}

TEST(CliTarget, ConfigFlagReplacesEnvironmentFile) {
  CleanEnv clean;
  TempDir d;
  std::string env_cfg = d.write("env.json", R"({"endpoint": "tcp://envcfg:2"})");
  EnvGuard cfg("GVIRTUS_CONFIG", env_cfg.c_str());
  Options o;
  o.config = d.write("flag.json", R"({"log_level": "info"})");
  Target t = resolve_ok(o);
  EXPECT_TRUE(t.embedded);
  EXPECT_EQ(t.log_level, "info");
}

TEST(CliTarget, ConfigFlagAccessSettingsReachTheProgram) {
  CleanEnv clean;
  TempDir d;
  Options o;
  o.config = d.write("flag.json", R"({"endpoint": "tls://gpu:9", "token_file": "tok",
      "tls_ca": "/ca.pem", "tls_cert": "/server-only.pem"})");
  Target t = resolve_ok(o);
  EXPECT_FALSE(t.embedded);
  std::vector<std::string> want = {"GVIRTUS_TOKEN_FILE=" + d.path() + "/tok",
                                   "GVIRTUS_TLS_CA=/ca.pem"};
  EXPECT_EQ(t.security_env, want);
  ChildSettings cs{"/fe", t.endpoint, "", t.security_env};
  std::vector<std::string> env =
      child_environment({"GVIRTUS_TLS_CA=/old.pem"}, cs);
  std::string v;
  ASSERT_TRUE(get_env(env, "GVIRTUS_TLS_CA", &v));
  EXPECT_EQ(v, "/ca.pem");  // the command line's file over the environment, as for the endpoint
  ASSERT_TRUE(get_env(env, "GVIRTUS_TOKEN_FILE", &v));
  EXPECT_EQ(v, d.path() + "/tok");
  // A --config without an endpoint (embedded: a private backend) passes none of it on.
  o.config = d.write("noep.json", R"({"token_file": "tok"})");
  EXPECT_TRUE(resolve_ok(o).security_env.empty());
}

TEST(CliTarget, ErrorsNameTheirSource) {
  CleanEnv clean;
  Options o;
  o.endpoint = "gpu-host:9999";
  Target t;
  Status s = resolve_target(o, &t);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("--endpoint"), std::string::npos) << s.message();

  o.endpoint.clear();
  o.config = "/nonexistent/gvirtus.json";
  s = resolve_target(o, &t);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("/nonexistent/gvirtus.json"), std::string::npos);

  o.config.clear();
  EnvGuard ep("GVIRTUS_ENDPOINT", "tcp://nohost");
  s = resolve_target(o, &t);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("GVIRTUS_ENDPOINT"), std::string::npos) << s.message();
}

TEST(CliEnvironment, PrependsOursAndKeepsTheRest) {
  std::vector<std::string> base = {"HOME=/home/u", "LD_LIBRARY_PATH=/opt/a:/fe:/opt/b",
                                   "LD_PRELOAD=/x.so /fe/libcudart.so.13", "GVIRTUS_ENDPOINT=tcp://old:1"};
  ChildSettings s{"/fe", "unix:/tmp/s", "debug", {}};
  std::vector<std::string> env = child_environment(base, s);
  std::string v;
  ASSERT_TRUE(get_env(env, "HOME", &v));
  EXPECT_EQ(v, "/home/u");
  ASSERT_TRUE(get_env(env, "LD_LIBRARY_PATH", &v));
  EXPECT_EQ(v, "/fe:/opt/a:/opt/b");
  ASSERT_TRUE(get_env(env, "LD_PRELOAD", &v));
  EXPECT_EQ(v, "/fe/libcudart.so.13:/fe/libcuda.so.1:/x.so");
  ASSERT_TRUE(get_env(env, "GVIRTUS_ENDPOINT", &v));
  EXPECT_EQ(v, "unix:/tmp/s");
  ASSERT_TRUE(get_env(env, "GVIRTUS_LOGLEVEL", &v));
  EXPECT_EQ(v, "debug");
  EXPECT_EQ(env.size(), 5u);
}

TEST(CliEnvironment, EmptyStartAndNoLogLevel) {
  std::vector<std::string> env = child_environment({}, ChildSettings{"/fe", "tcp://h:1", "", {}});
  std::string v;
  ASSERT_TRUE(get_env(env, "LD_LIBRARY_PATH", &v));
  EXPECT_EQ(v, "/fe");
  ASSERT_TRUE(get_env(env, "LD_PRELOAD", &v));
  EXPECT_EQ(v, "/fe/libcudart.so.13:/fe/libcuda.so.1");
  EXPECT_FALSE(get_env(env, "GVIRTUS_LOGLEVEL", &v));
}

TEST(CliEnvironment, PathWithSpaceIsPreloadedBySoname) {
  std::vector<std::string> env = child_environment({}, ChildSettings{"/my dir/fe", "tcp://h:1", "", {}});
  std::string v;
  ASSERT_TRUE(get_env(env, "LD_PRELOAD", &v));
  EXPECT_EQ(v, "libcudart.so.13:libcuda.so.1");
  ASSERT_TRUE(get_env(env, "LD_LIBRARY_PATH", &v));
  EXPECT_EQ(v, "/my dir/fe");
}

TEST(CliEnvironment, ShellQuote) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

// An installed-looking tree: TREE/bin and TREE/lib/gvirtus/libcudart.so.13.
TEST(CliInstall, FindsFrontendRelativeToBin) {
  TempDir d;
  d.mkdir("bin");
  d.mkdir("lib");
  d.mkdir("lib/gvirtus");
  std::string out;
  Status s = find_frontend_dir(d.path() + "/bin", &out);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find(d.path() + "/bin/../lib/gvirtus/libcudart.so.13"), std::string::npos)
      << s.message();
  d.write("lib/gvirtus/libcudart.so.13", "");
  ASSERT_TRUE(find_frontend_dir(d.path() + "/bin", &out));
  EXPECT_EQ(out, d.path() + "/lib/gvirtus");  // canonical: no "bin/.."
}

TEST(CliInstall, SelfExeDirIsThisTestsDirectory) {
  std::string dir;
  ASSERT_TRUE(self_exe_dir(&dir));
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  ASSERT_GT(n, 0);
  std::string exe(buf, static_cast<size_t>(n));
  EXPECT_EQ(exe.substr(0, exe.rfind('/')), dir);
}

// A fake installation: a "frontend" whose libcudart.so.13 is the C library (harmless to preload)
// and a fake backend script that follows the --ready-fd protocol and records what it saw.
class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    d_.mkdir("lib");
    fe_ = d_.mkdir("lib/gvirtus");
    Dl_info info;
    ASSERT_NE(dladdr(reinterpret_cast<void*>(&getpid), &info), 0);
    ASSERT_EQ(symlink(info.dli_fname, (fe_ + "/libcudart.so.13").c_str()), 0);
    ASSERT_EQ(symlink(info.dli_fname, (fe_ + "/libcuda.so.1").c_str()), 0);
    in_.frontend_dir = fe_;
    in_.ready_timeout_ms = 10000;
  }

  // mode: "ready" (follows the protocol), "fail" (exits 3 at once), "mute" (never says ready).
  void fake_backend(const std::string& mode) {
    std::string script = R"(#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) listen=$2; shift ;;
    --ready-fd) fd=$2; shift ;;
    --log-level) level=$2; shift ;;
  esac
  shift
done
echo "$listen" > "$FAKE_DIR/listen"
echo "$level" > "$FAKE_DIR/level"
env > "$FAKE_DIR/backend_env"
)";
    if (mode == "fail") script += "echo 'fake backend: cannot listen' >&2\nexit 3\n";
    script += "trap 'echo term > \"$FAKE_DIR/term\"; exit 0' TERM\n";
    if (mode == "ready") script += "eval \"echo ready >&$fd\"\n";
    script += "i=0; while [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n";
    in_.backend = d_.write("fake-backend", script, 0755);
  }

  static Options remote() {
    Options o;
    o.endpoint = "tcp://127.0.0.1:1";
    return o;
  }

  int run(const std::vector<std::string>& program, Options o = Options{}) {
    o.command = Command::kRun;
    o.program = program;
    return run_command(o, in_);
  }

  TempDir d_;
  std::string fe_;
  Install in_;
  CleanEnv clean_;
  EnvGuard fake_dir_{"FAKE_DIR", d_.path().c_str()};
  EnvGuard preload_{"LD_PRELOAD", nullptr};
  EnvGuard libpath_{"LD_LIBRARY_PATH", "/opt/elsewhere"};
};

TEST_F(CliRun, RemoteProgramGetsTheEnvironmentAndItsStatusComesBack) {
  Options o;
  o.endpoint = "tcp://127.0.0.1:1";
  o.log_level = "info";
  std::string out = d_.path() + "/out";
  int code = run({"/bin/sh", "-c",
                  "printf '%s\\n' \"$GVIRTUS_ENDPOINT\" \"$LD_PRELOAD\" \"$LD_LIBRARY_PATH\" "
                  "\"$GVIRTUS_LOGLEVEL\" > " + out + "; exit 7"},
                 o);
  EXPECT_EQ(code, 7);
  EXPECT_EQ(d_.read("out"), "tcp://127.0.0.1:1\n" + fe_ + "/libcudart.so.13:" + fe_ +
                                "/libcuda.so.1\n" + fe_ +
                                ":/opt/elsewhere\ninfo\n");
}

TEST_F(CliRun, SignalDeathIs128PlusSignal) {
  EXPECT_EQ(run({"/bin/sh", "-c", "kill -TERM $$"}, remote()), 128 + SIGTERM);
}

TEST_F(CliRun, MissingProgram) {
  EXPECT_EQ(run({d_.path() + "/no-such-program"}, remote()), kExitNotFound);
  std::string not_exec = d_.write("not-exec", "#!/bin/sh\n", 0644);
  EXPECT_EQ(run({not_exec}, remote()), kExitNotExecutable);
}

TEST_F(CliRun, BadEndpointIsASetupFailure) {
  Options o;
  o.endpoint = "nonsense";
  EXPECT_EQ(run({"/bin/true"}, o), kExitSetupFailed);
}

TEST(CliArgs, Transport) {
  EXPECT_EQ(parse_ok({"run", "./app"}).transport, "shm");
  EXPECT_EQ(parse_ok({"run", "--transport", "unix", "./app"}).transport, "unix");
  Options o;
  EXPECT_FALSE(parse_args({"run", "--transport", "tcp", "./app"}, &o));
}

TEST_F(CliRun, EmbeddedBackendOnAUnixSocketWhenAsked) {
  fake_backend("ready");
  Options o;
  o.transport = "unix";
  int code = run({"/bin/sh", "-c", "echo \"$GVIRTUS_ENDPOINT\" > \"$FAKE_DIR/program_endpoint\""}, o);
  EXPECT_EQ(code, 0);
  std::string listen = d_.read("listen");
  EXPECT_EQ(listen.rfind("unix:/", 0), 0u) << listen;
  EXPECT_EQ(d_.read("program_endpoint"), listen);
}

TEST_F(CliRun, EmbeddedBackendRunsForTheProgramAndIsStoppedAfter) {
  fake_backend("ready");
  int code = run({"/bin/sh", "-c", "echo \"$GVIRTUS_ENDPOINT\" > \"$FAKE_DIR/program_endpoint\"; exit 5"});
  EXPECT_EQ(code, 5);
  std::string listen = d_.read("listen");
  ASSERT_EQ(listen.rfind("shm:/", 0), 0u) << listen;  // shared memory unless asked otherwise
  EXPECT_EQ(d_.read("program_endpoint"), listen);
  EXPECT_EQ(d_.read("term"), "term\n");    // stopped with SIGTERM
  EXPECT_EQ(d_.read("level"), "warn\n");   // quiet unless asked otherwise
  // Its private directory is gone.
  std::string sock_dir = listen.substr(4, listen.rfind('/') - 4);
  EXPECT_NE(access(sock_dir.c_str(), F_OK), 0) << sock_dir;
  // The backend did not get the program's loader variables.
  std::string env = d_.read("backend_env");
  EXPECT_EQ(env.find(fe_), std::string::npos);
  EXPECT_NE(env.find("LD_LIBRARY_PATH=/opt/elsewhere\n"), std::string::npos);
}

TEST_F(CliRun, EmbeddedBackendGetsTheRequestedLogLevel) {
  fake_backend("ready");
  Options o;
  o.log_level = "debug";
  EXPECT_EQ(run({"/bin/true"}, o), 0);
  EXPECT_EQ(d_.read("level"), "debug\n");
}

TEST_F(CliRun, BackendThatDiesFirstIsReportedAndTheProgramNotRun) {
  fake_backend("fail");
  EXPECT_EQ(run({"/bin/sh", "-c", "touch \"$FAKE_DIR/ran\""}), kExitSetupFailed);
  EXPECT_FALSE(d_.exists("ran"));
}

TEST_F(CliRun, BackendThatNeverSaysReadyTimesOut) {
  fake_backend("mute");
  in_.ready_timeout_ms = 300;
  std::unique_ptr<EmbeddedBackend> b;
  Status s = EmbeddedBackend::start(in_.backend, "", in_.ready_timeout_ms, &b);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("did not report ready"), std::string::npos) << s.message();
  EXPECT_EQ(d_.read("term"), "term\n");  // and it was stopped
}

TEST_F(CliRun, MissingBackendIsAClearError) {
  in_.backend = d_.path() + "/bin/gvirtus-backend";
  std::unique_ptr<EmbeddedBackend> b;
  Status s = EmbeddedBackend::start(in_.backend, "", 1000, &b);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find(in_.backend), std::string::npos) << s.message();
}

TEST_F(CliRun, SigtermToGvirtusReachesTheProgram) {
  // The program waits for SIGTERM; another thread sends SIGTERM to this process once the
  // program is up. run_command must pass it on, and the program's own exit status comes back.
  std::thread killer([this] {
    for (int i = 0; i < 1000 && !d_.exists("started"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill(getpid(), SIGTERM);
  });
  int code = run({"/bin/sh", "-c",
                  "trap 'echo got > \"$FAKE_DIR/got_term\"; exit 42' TERM; "
                  "touch \"$FAKE_DIR/started\"; i=0; while [ $i -lt 200 ]; do sleep 0.05; "
                  "i=$((i+1)); done; exit 1"},
                 remote());
  killer.join();
  EXPECT_EQ(code, 42);
  EXPECT_EQ(d_.read("got_term"), "got\n");
}

TEST_F(CliRun, EnvTextShowsWhatRunSets) {
  Options o;
  o.endpoint = "tcp://gpu:9999";
  std::string text;
  ASSERT_TRUE(env_text(o, in_, &text));
  EXPECT_NE(text.find("export GVIRTUS_ENDPOINT='tcp://gpu:9999'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("export LD_PRELOAD='" + fe_ + "/libcudart.so.13:" + fe_ + "/libcuda.so.1'\n"), std::string::npos) << text;
  EXPECT_NE(text.find("export LD_LIBRARY_PATH='" + fe_ + ":/opt/elsewhere'\n"), std::string::npos);
  EXPECT_EQ(text.find("GVIRTUS_LOGLEVEL"), std::string::npos);

  ASSERT_TRUE(env_text(Options{}, in_, &text));  // embedded: no endpoint to export
  EXPECT_EQ(text.find("export GVIRTUS_ENDPOINT"), std::string::npos) << text;
  EXPECT_NE(text.find("private backend"), std::string::npos);
}

}  // namespace
}  // namespace gvirtus::cli
