// The exceptions aha throws. Each message says what was wrong, where (file:line:col, key or
// tensor name) and, when it is not obvious, what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace aha {

// A runtime failure or invalid input: the CLI prints it and exits with status 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A config file or --set override that does not validate (one or more problems, one per line).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// The command line itself is malformed: the CLI prints it and exits with status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace aha
