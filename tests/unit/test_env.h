// Test helpers: set an environment variable for one scope; a temporary directory with files.
#pragma once
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace gvirtus::testenv {

// Sets (value != nullptr) or clears an environment variable and puts the old state back.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value) : name_(name) {
    const char* old = getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~EnvGuard() {
    if (had_)
      setenv(name_.c_str(), old_.c_str(), 1);
    else
      unsetenv(name_.c_str());
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

// A fresh directory under /tmp, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/gvirtus-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (system(cmd.c_str()) != 0) {
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes rel (parent folders must exist) and returns its full path.
  std::string write(const std::string& rel, const std::string& text, mode_t mode = 0644) const {
    std::string p = path_ + "/" + rel;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  std::string mkdir(const std::string& rel) const {
    std::string p = path_ + "/" + rel;
    ::mkdir(p.c_str(), 0700);
    return p;
  }
  // The file's contents, "" if it does not exist.
  std::string read(const std::string& rel) const {
    std::ifstream in(path_ + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bool exists(const std::string& rel) const { return access((path_ + "/" + rel).c_str(), F_OK) == 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gvirtus::testenv
