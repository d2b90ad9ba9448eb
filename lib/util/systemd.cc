#include "util/systemd.h"

#ifdef MODEL_AUDITOR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace model_auditor::util {

void SdNotify(const char* state) {
#ifdef MODEL_AUDITOR_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

std::optional<std::chrono::microseconds> SdWatchdogInterval() {
#ifdef MODEL_AUDITOR_HAVE_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
#endif
  return std::nullopt;
}

}  // namespace model_auditor::util
