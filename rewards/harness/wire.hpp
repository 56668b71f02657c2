// What crosses between the C++ judge and the candidate: the arguments and results of the
// program's functions as plain values of standard types, written as text on file descriptor 3.
// The judge calls through aha::Remote; the candidate answers with aha::Server. Nothing the
// program defines ever runs in the judge, and nothing it returns reaches it but a decoded value.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace aha {

struct Channel {
  std::FILE* in = fdopen(3, "r");
  std::FILE* out = fdopen(3, "w");
};

inline Channel& channel() {
  static Channel c;
  return c;
}

[[noreturn]] inline void wire_broken() { throw std::runtime_error("the program's side of the channel is gone"); }

inline std::string read_token() {
  std::string token;
  for (int c = std::fgetc(channel().in); c != EOF; c = std::fgetc(channel().in)) {
    if (c == ' ' || c == '\n') {
      if (!token.empty()) return token;
    } else {
      token += static_cast<char>(c);
    }
    if (token.size() > 4096) wire_broken();
  }
  wire_broken();
}

inline long long read_count() {
  const std::string token = read_token();
  char* end = nullptr;
  const long long n = std::strtoll(token.c_str(), &end, 10);
  if (*end != 0 || n < 0 || n > (1LL << 28)) wire_broken();
  return n;
}

template <class T>
struct is_sequence : std::false_type {};
template <class T, class A>
struct is_sequence<std::vector<T, A>> : std::true_type {};
template <class T, class A>
struct is_sequence<std::deque<T, A>> : std::true_type {};
template <class T, class A>
struct is_sequence<std::list<T, A>> : std::true_type {};
template <class T>
struct is_set : std::false_type {};
template <class T, class C, class A>
struct is_set<std::set<T, C, A>> : std::true_type {};
template <class T, class C, class A>
struct is_set<std::multiset<T, C, A>> : std::true_type {};
template <class T, class H, class E, class A>
struct is_set<std::unordered_set<T, H, E, A>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_map<std::map<K, V, C, A>> : std::true_type {};
template <class K, class V, class H, class E, class A>
struct is_map<std::unordered_map<K, V, H, E, A>> : std::true_type {};
template <class T>
struct is_pair_or_tuple : std::false_type {};
template <class A, class B>
struct is_pair_or_tuple<std::pair<A, B>> : std::true_type {};
template <class... T>
struct is_pair_or_tuple<std::tuple<T...>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_array : std::false_type {};
template <class T, std::size_t N>
struct is_array<std::array<T, N>> : std::true_type {};

template <class T>
void write(const T& value);
template <class T>
void read(T& value);

template <class T>
void write(const T& value) {
  std::FILE* out = channel().out;
  if constexpr (std::is_same_v<T, bool>) {
    std::fprintf(out, "%d ", value ? 1 : 0);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    std::fprintf(out, "%lld ", static_cast<long long>(value));
  } else if constexpr (std::is_integral_v<T>) {
    std::fprintf(out, "%llu ", static_cast<unsigned long long>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    std::fprintf(out, "%La ", static_cast<long double>(value));
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::fprintf(out, "%zu:", value.size());
    std::fwrite(value.data(), 1, value.size(), out);
    std::fputc(' ', out);
  } else if constexpr (is_sequence<T>::value || is_set<T>::value || is_array<T>::value) {
    std::fprintf(out, "%zu ", value.size());
    for (const auto& item : value) write(item);
  } else if constexpr (is_map<T>::value) {
    std::fprintf(out, "%zu ", value.size());
    for (const auto& [k, v] : value) {
      write(k);
      write(v);
    }
  } else if constexpr (is_pair_or_tuple<T>::value) {
    std::apply([](const auto&... item) { (write(item), ...); }, value);
  } else if constexpr (is_optional<T>::value) {
    write(value.has_value());
    if (value) write(*value);
  } else {
    static_assert(sizeof(T) == 0, "a program function's arguments and result must be standard types");
  }
}

template <class T>
void read(T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    value = read_count() != 0;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    value = static_cast<T>(std::strtoll(read_token().c_str(), nullptr, 10));
  } else if constexpr (std::is_integral_v<T>) {
    value = static_cast<T>(std::strtoull(read_token().c_str(), nullptr, 10));
  } else if constexpr (std::is_floating_point_v<T>) {
    value = static_cast<T>(std::strtold(read_token().c_str(), nullptr));
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::string size;
    for (int c = std::fgetc(channel().in); c != ':'; c = std::fgetc(channel().in)) {
      if (c == EOF || size.size() > 12) wire_broken();
      if (c != ' ' && c != '\n') size += static_cast<char>(c);
    }
    value.resize(std::strtoull(size.c_str(), nullptr, 10));
    if (std::fread(value.data(), 1, value.size(), channel().in) != value.size()) wire_broken();
  } else if constexpr (is_sequence<T>::value) {
    value.clear();
    for (long long n = read_count(); n > 0; --n) {
      typename T::value_type item{};
      read(item);
      value.push_back(std::move(item));
    }
  } else if constexpr (is_array<T>::value) {
    if (read_count() != static_cast<long long>(value.size())) wire_broken();
    for (auto& item : value) read(item);
  } else if constexpr (is_set<T>::value) {
    value.clear();
    for (long long n = read_count(); n > 0; --n) {
      typename T::value_type item{};
      read(item);
      value.insert(std::move(item));
    }
  } else if constexpr (is_map<T>::value) {
    value.clear();
    for (long long n = read_count(); n > 0; --n) {
      typename T::key_type k{};
      typename T::mapped_type v{};
      read(k);
      read(v);
      value.emplace(std::move(k), std::move(v));
    }
  } else if constexpr (is_pair_or_tuple<T>::value) {
    std::apply([](auto&... item) { (read(item), ...); }, value);
  } else if constexpr (is_optional<T>::value) {
    bool present = false;
    read(present);
    value.reset();
    if (present) {
      typename T::value_type inner{};
      read(inner);
      value = std::move(inner);
    }
  } else {
    static_assert(sizeof(T) == 0, "a program function's arguments and result must be standard types");
  }
}

// The judge's stand-in for a program function: sends the arguments, returns the decoded result,
// throws when the program threw or its side is gone.
template <class F>
struct Remote;
template <class R, class... A>
struct Remote<R (*)(A...)> {
  const char* name;
  R operator()(A... args) const {
    std::fprintf(channel().out, "%s ", name);
    (write(static_cast<const std::decay_t<A>&>(args)), ...);
    std::fputc('\n', channel().out);
    if (std::fflush(channel().out) != 0) wire_broken();
    const std::string status = read_token();
    if (status == "raise") throw std::runtime_error(std::string(name) + " threw");
    if (status != "return") wire_broken();
    if constexpr (!std::is_void_v<R>) {
      std::decay_t<R> result{};
      read(result);
      return result;
    }
  }
};

// The judge waits for this before its tests: a program that did not compile or start never sends it.
inline bool program_ready() {
  try {
    return read_token() == "ready";
  } catch (const std::exception&) {
    return false;
  }
}

// The candidate's side: says it is ready, then answers calls by name until the judge closes the
// channel.
class Server {
 public:
  template <class R, class... A>
  void add(const char* name, R (*f)(A...)) {
    handlers_.emplace(name, [f] {
      std::tuple<std::decay_t<A>...> args;
      std::apply([](auto&... item) { (read(item), ...); }, args);
      if constexpr (std::is_void_v<R>) {
        std::apply(f, args);
        std::fputs("return\n", channel().out);
      } else {
        const std::decay_t<R> result = std::apply(f, args);
        std::fputs("return ", channel().out);
        write(result);
        std::fputc('\n', channel().out);
      }
    });
  }
  void run() {
    std::fputs("ready\n", channel().out);
    std::fflush(channel().out);
    for (;;) {
      std::string name;
      try {
        name = read_token();
      } catch (const std::exception&) {
        return;
      }
      const auto handler = handlers_.find(name);
      if (handler == handlers_.end()) return;
      try {
        handler->second();
      } catch (...) {
        std::fputs("raise\n", channel().out);
      }
      std::fflush(channel().out);
    }
  }

 private:
  std::map<std::string, std::function<void()>> handlers_;
};

}  // namespace aha
