// may_view<T>: whether a value of type T can view memory it does not own, so that returning one
// from a read that lends the credential (ResilientCredential::with_current(),
// CredentialPool::with_chosen()) could carry a view of the secret past the call.
//
// True for references, pointers (to members too), std::reference_wrapper, iterators, ranges that
// view or borrow (std::string_view, std::span, subranges, range adaptors), callables with an
// operator() (a closure may capture a reference), and for any type holding one of them that can
// be seen into: std::pair, std::tuple, std::optional, std::variant, keyward::Result, containers
// (through their value_type: std::array, std::vector, std::map, ...), smart pointers (through
// their element_type), and aggregates of the application's own whose members are initialized from
// a string_view, span or pointer (detected by trying to initialize the first 16 members).
//
// The limit: a class type with constructors of its own (not an aggregate) is taken at its word,
// as is a type-erasing wrapper other than std::function (std::any, a hand-written handle), and an
// aggregate member that is itself an aggregate is not looked into. Returning one of those that
// holds a view is not caught here; copy what must outlive the call (std::string, integers).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace keyward::detail {

template <class T>
struct MayView;

/// True when a T can view memory it does not own (see the top of this header).
template <class T>
inline constexpr bool may_view = MayView<std::remove_cv_t<T>>::value;

namespace may_view_impl {

// Converts to any member type: fills the members before the one probed.
struct Filler {
  template <class U>
  operator U() const;  // NOLINT(google-explicit-constructor): declared only, never called
};
// Each converts only to a viewing type; one kind per probe, so that no conversion is ambiguous.
struct StringViewProbe {
  template <class C, class Traits>
  operator std::basic_string_view<C, Traits>() const;  // NOLINT(google-explicit-constructor)
};
struct SpanProbe {
  template <class U, std::size_t N>
  operator std::span<U, N>() const;  // NOLINT(google-explicit-constructor)
};
struct PointerProbe {
  template <class U>
  operator U*() const;  // NOLINT(google-explicit-constructor)
};

template <std::size_t>
using FillerAt = Filler;

// True when member `sizeof...(I)` of the aggregate T can be initialized from a Probe.
template <class T, class Probe, std::size_t... I>
consteval bool member_takes(std::index_sequence<I...> /*before*/) {
  return requires { T{FillerAt<I>{}..., Probe{}}; };
}

template <class T, std::size_t... I>
consteval bool any_member_views(std::index_sequence<I...> /*members*/) {
  return ((member_takes<T, StringViewProbe>(std::make_index_sequence<I>{}) ||
           member_takes<T, SpanProbe>(std::make_index_sequence<I>{}) ||
           member_takes<T, PointerProbe>(std::make_index_sequence<I>{})) ||
          ...);
}

// Aggregates are probed up to this many members.
inline constexpr std::size_t kProbedMembers = 16;

template <class T>
consteval bool aggregate_views() {
  if constexpr (std::is_aggregate_v<T> && !std::is_array_v<T>) {
    return any_member_views<T>(std::make_index_sequence<kProbedMembers>{});
  } else {
    return false;
  }
}

template <class T>
consteval bool class_views() {
  if constexpr (std::ranges::view<T> || std::ranges::borrowed_range<T> ||
                std::input_or_output_iterator<T> || requires { &T::operator(); }) {
    return true;
  } else if constexpr (requires { typename T::value_type; }) {
    if constexpr (!std::is_same_v<typename T::value_type, T>) {
      if (may_view<typename T::value_type>) return true;
    }
    if constexpr (requires { typename T::error_type; }) return may_view<typename T::error_type>;
    return false;
  } else if constexpr (requires { typename T::element_type; }) {
    return may_view<typename T::element_type>;
  } else {
    return aggregate_views<T>();
  }
}

template <class T>
consteval bool type_views() {
  if constexpr (std::is_reference_v<T> || std::is_pointer_v<T> || std::is_member_pointer_v<T> ||
                std::is_array_v<T> || std::is_function_v<T>) {
    return true;
  } else if constexpr (std::is_class_v<T>) {
    return class_views<T>();
  } else {
    return false;
  }
}

}  // namespace may_view_impl

/// Any type not handled below: as may_view_impl::type_views() sees it.
template <class T>
struct MayView : std::bool_constant<may_view_impl::type_views<T>()> {};
/// void views nothing.
template <>
struct MayView<void> : std::false_type {};
/// A std::reference_wrapper refers to something.
template <class T>
struct MayView<std::reference_wrapper<T>> : std::true_type {};
/// A std::pair views when either member does.
template <class A, class B>
struct MayView<std::pair<A, B>> : std::bool_constant<may_view<A> || may_view<B>> {};
/// A std::tuple views when a member does.
template <class... Ts>
struct MayView<std::tuple<Ts...>> : std::bool_constant<(may_view<Ts> || ...)> {};
/// A std::variant views when an alternative does.
template <class... Ts>
struct MayView<std::variant<Ts...>> : std::bool_constant<(may_view<Ts> || ...)> {};
/// A std::optional views when its value does.
template <class T>
struct MayView<std::optional<T>> : std::bool_constant<may_view<T>> {};

}  // namespace keyward::detail
