#pragma once
// sd_notify(3) when built with libsystemd; no-ops otherwise. Thread-safe.

#include <chrono>
#include <optional>

namespace model_auditor::util {

/// Sends a notification such as "READY=1" or "WATCHDOG=1" to systemd, if
/// NOTIFY_SOCKET is set. Never fails loudly: a daemon outside systemd ignores it.
void SdNotify(const char* state);

/// The watchdog interval systemd asks for (WATCHDOG_USEC), if any.
std::optional<std::chrono::microseconds> SdWatchdogInterval();

}  // namespace model_auditor::util
