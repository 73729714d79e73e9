// File: storage/base/status_macros.h
// -----------------------------------------------------------------------------
//
// Early-return helpers for `absl::Status` and `absl::StatusOr<T>`. Abseil's
// 2022 release ships none, so lsmscan defines its own two.
//
// Example:
//
//   absl::Status Open() {
//     LSMSCAN_RETURN_IF_ERROR(ReadSuperblock());
//     LSMSCAN_ASSIGN_OR_RETURN(Manifest manifest, DecodeManifest(bytes));
//     ...
//   }

#ifndef LSMSCAN_STORAGE_BASE_STATUS_MACROS_H_
#define LSMSCAN_STORAGE_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// LSMSCAN_RETURN_IF_ERROR(expression)
//
// Evaluates `expression` (an absl::Status) once and returns it if not OK.
// Variadic so that template arguments with commas need no parentheses.
#define LSMSCAN_RETURN_IF_ERROR(...)                  \
  do {                                                \
    ::absl::Status lsmscan_status_ = (__VA_ARGS__);   \
    if (__builtin_expect(!lsmscan_status_.ok(), 0)) { \
      return lsmscan_status_;                         \
    }                                                 \
  } while (false)

#define LSMSCAN_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define LSMSCAN_STATUS_MACROS_CONCAT_(a, b) \
  LSMSCAN_STATUS_MACROS_CONCAT_INNER_(a, b)

#define LSMSCAN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expression) \
  auto statusor = (expression);                                   \
  if (__builtin_expect(!statusor.ok(), 0)) {                      \
    return std::move(statusor).status();                          \
  }                                                               \
  lhs = std::move(statusor).value()

// LSMSCAN_ASSIGN_OR_RETURN(lhs, expression)
//
// Evaluates `expression` (an absl::StatusOr<T>); returns its status if not OK,
// otherwise moves the value into `lhs` (which may declare a variable).
#define LSMSCAN_ASSIGN_OR_RETURN(lhs, ...)                             \
  LSMSCAN_ASSIGN_OR_RETURN_IMPL_(                                      \
      LSMSCAN_STATUS_MACROS_CONCAT_(lsmscan_statusor_, __LINE__), lhs, \
      (__VA_ARGS__))

#endif  // LSMSCAN_STORAGE_BASE_STATUS_MACROS_H_
