#include "actors/error.hpp"

#include <caf/sec.hpp>

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

} // namespace

failure to_failure(const caf::error& x) {
  if (!x)
    return {wire_code::ok, "no error"};
  if (x.category() == caf::atom("dirscope"))
    return {wire_code_from(x.code()), context_text(x.context())};
  if (x.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(x.code())) {
      case caf::sec::request_timeout:
        return {wire_code::timeout, "the node did not answer in time"};
      case caf::sec::request_receiver_down:
        return {wire_code::io_error, "the node disconnected"};
      default:
        break;
    }
  }
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
