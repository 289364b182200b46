#include "actors/logging.hpp"

#include <memory>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dirscope {

outcome<bool> setup_logging(const std::string& program,
                            const std::string& level,
                            const std::string& file, bool quiet_stderr) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return make_failure(wire_code::bad_request,
                        "unknown log level '" + level
                          + "' (trace, debug, info, warn, error, off)");
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (quiet_stderr)
    sinks.back()->set_level(spdlog::level::warn);
  if (!file.empty()) {
    try {
      sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false));
    } catch (const spdlog::spdlog_ex& ex) {
      return make_failure(wire_code::io_error,
                          "cannot open log file: " + std::string{ex.what()});
    }
  }
  auto logger = std::make_shared<spdlog::logger>(program, sinks.begin(),
                                                 sinks.end());
  logger->set_level(lvl);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %n %^%l%$ %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return true;
}

} // namespace dirscope
