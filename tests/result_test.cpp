// Result<T> and Result<void>, keyward's error category, and make_error.
#include "keyward/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "keyward/error.hpp"

namespace keyward {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return unexpected(make_error(Errc::invalid_credential, "not a digit"));
  return c - '0';
}

// --- Result<T> ------------------------------------------------------------------------------

TEST(ResultTest, HoldsAValue) {
  Result<int> result = parse_digit('7');
  EXPECT_TRUE(result.has_value());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(result.value(), 7);
  EXPECT_EQ(*result, 7);
  result.value() = 9;
  EXPECT_EQ(*result, 9);
}

TEST(ResultTest, HoldsAnError) {
  const Result<int> result = parse_digit('x');
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(result.error().code, Errc::invalid_credential);
  EXPECT_EQ(result.error().message, "not a digit");
}

TEST(ResultTest, ValueThrowsBadResultAccessOnError) {
  Result<int> result = parse_digit('x');
  const Result<int>& const_ref = result;
  EXPECT_THROW((void)result.value(), BadResultAccess);
  EXPECT_THROW((void)const_ref.value(), BadResultAccess);
  EXPECT_THROW((void)std::move(result).value(), BadResultAccess);
}

TEST(ResultTest, BadResultAccessSaysWhatWentWrong) {
  const BadResultAccess error;
  EXPECT_STREQ(error.what(), "keyward::Result::value() called on a Result holding an error");
  static_assert(std::is_base_of_v<std::exception, BadResultAccess>);
}

TEST(ResultTest, GivesMemberAccessToTheValue) {
  Result<std::string> result = std::string{"keyward"};
  EXPECT_EQ(result->size(), 7U);
  const Result<std::string>& const_ref = result;
  EXPECT_EQ(const_ref->front(), 'k');
  EXPECT_EQ(const_ref.value(), "keyward");
}

TEST(ResultTest, WorksWithAMoveOnlyValue) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(42);
  ASSERT_TRUE(result);
  EXPECT_EQ(**result, 42);
  std::unique_ptr<int> taken = std::move(result).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 42);
  static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);
  static_assert(std::is_move_constructible_v<Result<std::unique_ptr<int>>>);
}

TEST(ResultTest, MovesOutTheError) {
  Result<int> result = parse_digit('x');
  Error error = std::move(result).error();
  EXPECT_EQ(error.code, Errc::invalid_credential);
  EXPECT_EQ(error.message, "not a digit");
}

TEST(ResultTest, TakesACustomErrorType) {
  Result<int, std::string> ok = 3;
  Result<int, std::string> failed = unexpected(std::string{"boom"});
  EXPECT_EQ(*ok, 3);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), "boom");
}

TEST(ResultTest, UnexpectedWrapsTheError) {
  const auto wrapped = unexpected(make_error(Errc::cooling_down, "later"));
  static_assert(std::is_same_v<std::remove_cv_t<decltype(wrapped)>, Unexpected<Error>>);
  EXPECT_EQ(wrapped.error.code, Errc::cooling_down);
  EXPECT_EQ(wrapped.error.message, "later");
}

// --- Result<void> ---------------------------------------------------------------------------

Result<void> check_positive(int n) {
  if (n <= 0) return unexpected(make_error(Errc::invalid_credential, "not positive"));
  return {};
}

TEST(ResultVoidTest, HoldsSuccess) {
  const Result<void> result = check_positive(1);
  EXPECT_TRUE(result.has_value());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_NO_THROW(result.value());
}

TEST(ResultVoidTest, HoldsAnError) {
  Result<void> result = check_positive(0);
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(static_cast<bool>(result));
  EXPECT_EQ(result.error().code, Errc::invalid_credential);
  EXPECT_EQ(result.error().message, "not positive");
  EXPECT_THROW(result.value(), BadResultAccess);
  const Error moved = std::move(result).error();
  EXPECT_EQ(moved.message, "not positive");
}

TEST(ResultVoidTest, DefaultIsSuccess) {
  const Result<void> result;
  EXPECT_TRUE(result);
}

// --- the error category ---------------------------------------------------------------------

TEST(ErrorCategoryTest, IsNamedKeyward) {
  EXPECT_STREQ(error_category().name(), "keyward");
  EXPECT_EQ(&error_category(), &error_category());
}

TEST(ErrorCategoryTest, DescribesEveryCode) {
  const auto& category = error_category();
  EXPECT_EQ(category.message(static_cast<int>(Errc::needs_reauth)),
            "the credential needs a person to replace or fix it");
  EXPECT_EQ(category.message(static_cast<int>(Errc::cooling_down)),
            "the credential is cooling down");
  EXPECT_EQ(category.message(static_cast<int>(Errc::refresh_failed)),
            "the token expired and could not be refreshed");
  EXPECT_EQ(category.message(static_cast<int>(Errc::refresh_timeout)),
            "timed out waiting for a token refresh");
  EXPECT_EQ(category.message(static_cast<int>(Errc::persist_failed)),
            "the refreshed credential could not be persisted");
  EXPECT_EQ(category.message(static_cast<int>(Errc::transport_failed)),
            "the request got no response");
  EXPECT_EQ(category.message(static_cast<int>(Errc::insecure_transport)),
            "refused to send a credential over plain HTTP");
  EXPECT_EQ(category.message(static_cast<int>(Errc::invalid_credential)),
            "the credential is not usable");
}

TEST(ErrorCategoryTest, DescribesUnknownCodes) {
  EXPECT_EQ(error_category().message(0), "unknown keyward error");
  EXPECT_EQ(error_category().message(999), "unknown keyward error");
}

TEST(ErrorCategoryTest, ErrcConvertsToAnErrorCode) {
  static_assert(std::is_error_code_enum_v<Errc>);
  std::error_code ec = Errc::needs_reauth;
  EXPECT_TRUE(ec == Errc::needs_reauth);
  EXPECT_FALSE(ec == Errc::cooling_down);
  EXPECT_EQ(ec.value(), 1);
  EXPECT_EQ(&ec.category(), &error_category());
  EXPECT_EQ(ec.message(), "the credential needs a person to replace or fix it");
  EXPECT_TRUE(static_cast<bool>(ec));
  ec = Errc::persist_failed;
  EXPECT_TRUE(ec == Errc::persist_failed);
}

TEST(ErrorCategoryTest, KeywardCodesDifferFromGenericCodesWithTheSameValue) {
  const std::error_code ours = make_error_code(Errc::needs_reauth);
  const std::error_code generic{1, std::generic_category()};
  EXPECT_NE(ours, generic);
}

TEST(ErrorCategoryTest, MakeErrorFillsCodeAndMessageOnly) {
  const Error error = make_error(Errc::refresh_timeout, "waited 30 s for the refresh");
  EXPECT_EQ(error.code, Errc::refresh_timeout);
  EXPECT_EQ(error.code, make_error_code(Errc::refresh_timeout));
  EXPECT_EQ(error.message, "waited 30 s for the refresh");
  EXPECT_FALSE(error.verdict.has_value());
  EXPECT_FALSE(error.until.has_value());
}

TEST(ErrcTest, ToStringGivesEachEnumeratorsOwnName) {
  static_assert(to_string(Errc::needs_reauth) == "needs_reauth");
  EXPECT_EQ(to_string(Errc::no_usable_credential), "no_usable_credential");
  EXPECT_EQ(to_string(Errc::provider_unavailable), "provider_unavailable");
  EXPECT_EQ(to_string(Errc::redirect_refused), "redirect_refused");
  EXPECT_EQ(to_string(Errc::cancelled), "cancelled");
  EXPECT_EQ(to_string(static_cast<Errc>(0)), "unknown");
}

}  // namespace
}  // namespace keyward
