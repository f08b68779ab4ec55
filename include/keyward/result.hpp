// Result<T, E>: a value or the reason keyward could not produce one.
//
// Named and shaped like C++23's std::expected, which g++ 12 does not offer in C++20 mode. HTTP
// error responses are data, not errors: a Result carries an error only when keyward refused to act
// or could not act (a credential waiting for a person, a failed refresh, a network failure).
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace keyward {

struct Error;

/// Wraps an error value so that it converts to a failed Result.
template <class E>
struct Unexpected {
  E error;  ///< The error the Result will hold.
};

/// Makes an Unexpected from an error, like std::unexpected.
template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return {std::forward<E>(error)};
}

/// Thrown by Result::value() when the Result holds an error.
class BadResultAccess : public std::exception {
 public:
  /// Says what went wrong.
  [[nodiscard]] const char* what() const noexcept override {
    return "keyward::Result::value() called on a Result holding an error";
  }
};

/// A value of type T, or an error of type E.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  using value_type = T;  ///< The type of the value.
  using error_type = E;  ///< The type of the error.

  /// Holds a value.
  // enable_if rather than requires: clang-tidy 14 only sees that this template cannot hide the
  // copy and move constructors when the constraint is spelled this way.
  template <class U = T, std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::remove_cvref_t<U>, Result>,
                                          int> = 0>
  Result(U&& value)  // NOLINT(google-explicit-constructor): mirrors std::expected
      : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

  /// Holds an error.
  template <class G>
  Result(Unexpected<G> failure)  // NOLINT(google-explicit-constructor): mirrors std::expected
      : storage_(std::in_place_index<1>, std::move(failure.error)) {}

  /// True when the Result holds a value.
  [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
  /// True when the Result holds a value.
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; throws BadResultAccess when the Result holds an error.
  [[nodiscard]] T& value() & { return check(), std::get<0>(storage_); }
  /// The value; throws BadResultAccess when the Result holds an error.
  [[nodiscard]] const T& value() const& { return check(), std::get<0>(storage_); }
  /// The value, moved out; throws BadResultAccess when the Result holds an error.
  [[nodiscard]] T&& value() && { return check(), std::get<0>(std::move(storage_)); }

  /// The value; the Result must hold one.
  T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  /// The value; the Result must hold one.
  const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  /// Member access to the value; the Result must hold one.
  T* operator->() noexcept { return std::get_if<0>(&storage_); }
  /// Member access to the value; the Result must hold one.
  const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

  /// The error; the Result must hold one.
  [[nodiscard]] E& error() & noexcept { return *std::get_if<1>(&storage_); }
  /// The error; the Result must hold one.
  [[nodiscard]] const E& error() const& noexcept { return *std::get_if<1>(&storage_); }
  /// The error, moved out; the Result must hold one.
  [[nodiscard]] E&& error() && noexcept { return std::move(*std::get_if<1>(&storage_)); }

 private:
  void check() const {
    if (!has_value()) throw BadResultAccess{};
  }
  std::variant<T, E> storage_;
};

/// Success without a value, or an error of type E.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;  ///< No value.
  using error_type = E;     ///< The type of the error.

  /// Holds success.
  Result() = default;
  /// Holds an error.
  template <class G>
  Result(Unexpected<G> failure)  // NOLINT(google-explicit-constructor): mirrors std::expected
      : error_(std::move(failure.error)), failed_(true) {}

  /// True on success.
  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  /// True on success.
  explicit operator bool() const noexcept { return !failed_; }
  /// Throws BadResultAccess when the Result holds an error.
  void value() const {
    if (failed_) throw BadResultAccess{};
  }
  /// The error; the Result must hold one.
  [[nodiscard]] E& error() & noexcept { return error_; }
  /// The error; the Result must hold one.
  [[nodiscard]] const E& error() const& noexcept { return error_; }
  /// The error, moved out; the Result must hold one.
  [[nodiscard]] E&& error() && noexcept { return std::move(error_); }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace keyward
