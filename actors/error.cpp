#include "actors/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include <caf/config_value.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>
#include <caf/settings.hpp>

namespace dirscope {

caf::error make_error(wire_code code, std::string message) {
  return caf::error{code, std::move(message)};
}

caf::error to_error(const failure& x) {
  return make_error(x.code, x.message);
}

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : to_string(ctx);
}

/// "cannot_connect_to_node" -> "cannot connect to node".
template <class Enum>
std::string words(Enum code) {
  auto result = to_string(code);
  std::replace(result.begin(), result.end(), '_', ' ');
  return result;
}

/// What went wrong in a value, in words.
std::string describe(caf::pec code) {
  switch (code) {
    case caf::pec::type_mismatch:
    case caf::pec::unexpected_character:
    case caf::pec::trailing_character:
    case caf::pec::illegal_argument:
      return "not a valid value";
    case caf::pec::integer_overflow:
    case caf::pec::integer_underflow:
    case caf::pec::timespan_overflow:
    case caf::pec::exponent_overflow:
    case caf::pec::exponent_underflow:
      return "value out of range";
    case caf::pec::fractional_timespan:
      return "durations take a whole number and a unit (ms, s, min, h)";
    case caf::pec::unexpected_eof:
    case caf::pec::missing_argument:
      return "missing value";
    default:
      return words(code);
  }
}

/// A parser error from the command line (the context names the argument)
/// or the INI file (the context is line and column).
failure parser_failure(caf::pec code, const caf::message& ctx) {
  caf::settings where;
  if (ctx.size() == 1 && ctx.match_element<caf::settings>(0))
    where = ctx.get_as<caf::settings>(0);
  if (auto arg = caf::get_if<std::string>(&where, "argument")) {
    if (code == caf::pec::not_an_option) {
      auto name = arg->substr(0, arg->find('='));
      return {wire_code::bad_request,
              "unknown option " + name + " (see --help)"};
    }
    return {wire_code::bad_request,
            "bad option " + *arg + ": " + describe(code) + " (see --help)"};
  }
  auto line = caf::get_if<int64_t>(&where, "line");
  auto column = caf::get_if<int64_t>(&where, "column");
  if (line && column)
    return {wire_code::bad_request,
            "config file, line " + std::to_string(*line) + ", column "
              + std::to_string(*column) + ": " + describe(code)
              + " (strings must be quoted)"};
  auto text = context_text(ctx);
  return {wire_code::bad_request,
          describe(code) + (text.empty() ? "" : " in " + text)};
}

/// "cannot connect to HOST:PORT" from the context CAF gives a failed
/// connect: (what failed, host, port).
std::optional<std::string> connect_target(const caf::message& ctx) {
  if (ctx.size() == 3 && ctx.match_elements<std::string, std::string,
                                            uint16_t>())
    return ctx.get_as<std::string>(1) + ":"
           + std::to_string(ctx.get_as<uint16_t>(2));
  return std::nullopt;
}

/// The socket layer's errors (CAF's system category).
failure system_failure(caf::sec code, const caf::message& ctx) {
  if (code == caf::sec::cannot_connect_to_node) {
    if (auto where = connect_target(ctx)) {
      auto what = ctx.get_as<std::string>(0);
      return {wire_code::io_error,
              "cannot connect to " + *where
                + (what == "no such host" ? ": no such host" : "")};
    }
  }
  auto text = context_text(ctx);
  auto with_context = [&text](std::string what) {
    return text.empty() ? what : what + ": " + text;
  };
  switch (code) {
    case caf::sec::request_timeout:
      return {wire_code::timeout, "the node did not answer in time"};
    case caf::sec::request_receiver_down:
      return {wire_code::io_error, "the node disconnected"};
    case caf::sec::cannot_connect_to_node:
      return {wire_code::io_error, with_context("connection failed")};
    case caf::sec::cannot_open_port:
      return {wire_code::io_error, with_context("cannot open the port")};
    case caf::sec::network_syscall_failed:
      return {wire_code::io_error, with_context("network error")};
    default:
      return {wire_code::internal, with_context(words(code))};
  }
}

} // namespace

failure to_failure(const caf::error& x) {
  if (!x)
    return {wire_code::ok, "no error"};
  if (x.category() == caf::atom("dirscope"))
    return {wire_code_from(x.code()), context_text(x.context())};
  if (x.category() == caf::atom("system"))
    return system_failure(static_cast<caf::sec>(x.code()), x.context());
  if (x.category() == caf::atom("parser"))
    return parser_failure(static_cast<caf::pec>(x.code()), x.context());
  if (x.category() == caf::atom("exit"))
    return {wire_code::io_error, "the node disconnected"};
  return {wire_code::internal, to_string(x)};
}

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& context) {
  auto wc = wire_code_from(code);
  auto text = context_text(context);
  std::string result{to_string(wc)};
  if (!text.empty()) {
    result += ": ";
    result += text;
  }
  return result;
}

} // namespace dirscope
