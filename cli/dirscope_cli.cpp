// dirscope: runs shell commands against a running dirscope-server through
// its operator API (API.md), one command per call or as a shell.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <editline/readline.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <unistd.h>

#include "protocol/names.hpp"
#include "shell/command.hpp"
#include "shell/edit_completion.hpp"
#include "shell/render.hpp"

namespace {

using json = nlohmann::json;

constexpr const char* usage_text = R"(dirscope: run dirscope shell commands against a running server.

Usage: dirscope [OPTIONS] COMMAND [ARGS...]   one command, e.g. dirscope ls web1:/etc
       dirscope [OPTIONS] shell               an interactive shell
       dirscope --help | help [COMMAND]       this text | the shell's commands

Commands are those of the server's shell (nodes, ls, stat, tree, find, du,
cat, head, tail, rm, broadcast, kick, wait-nodes, help). Output goes to
stdout as it arrives, the error of a failed command to stderr. With --json
the output is one JSON object per line (dirscope ls --json web1:/etc | jq
.name).

  dirscope get NODE:PATH [LOCAL]   downloads a file here (LOCAL: a new file,
                                   default the file's name; - for stdout)
  dirscope put LOCAL NODE:PATH     uploads a file as a new file (PATH ending
                                   in / : into that directory)

Directories, --resume and the other transfer options are for the server's
own console.

Options:
  --server URL      the server's API (default https://127.0.0.1:8443)
  --token TOKEN     the operator token (the server's STATE_DIR/operator.token)
  --token-file FILE read the operator token from FILE
  --ca FILE         CA certificate to verify the server (STATE_DIR/ca.crt);
                    a server whose certificate does not verify is refused
  --cert FILE --key FILE
                    a client certificate instead of the token (servers with
                    --api-client-ca; its CN names you in the log)
  --operator NAME   your name in the server's log and request report
                    (default: $USER)
  --confirm         allow rm to delete (also: rm -y); without it rm refuses
  --help            this text

Each option may also come from the environment (DIRSCOPE_SERVER,
DIRSCOPE_TOKEN, DIRSCOPE_TOKEN_FILE, DIRSCOPE_CA, DIRSCOPE_CERT,
DIRSCOPE_KEY, DIRSCOPE_OPERATOR) or from ~/.config/dirscope/config, lines of
KEY = VALUE with the keys server, token, token-file, ca, cert, key,
operator. Flags win over the environment, which wins over
the file.

Exit status: 0 the command succeeded; 1 it failed, or the server could not
be reached or verified; 2 a usage error (bad option, unknown command, wrong
arguments).
)";

struct options {
  std::string server = "https://127.0.0.1:8443";
  std::string token;
  std::string token_file;
  std::string ca;
  std::string cert;
  std::string key;
  std::string op;
  bool confirm = false;
};

int usage_error(const std::string& message) {
  std::cerr << "dirscope: " << message << "\n(see dirscope --help)\n";
  return 2;
}

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string config_path() {
  if (auto xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg)
    return std::string{xdg} + "/dirscope/config";
  if (auto home = std::getenv("HOME"); home != nullptr && *home)
    return std::string{home} + "/.config/dirscope/config";
  return {};
}

/// Reads KEY = VALUE lines ('#' starts a comment).
std::map<std::string, std::string> read_config(const std::string& path) {
  std::map<std::string, std::string> result;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#')
      continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    auto value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    result[trim(line.substr(0, eq))] = value;
  }
  return result;
}

/// A word as the shell's tokenizer reads it back unchanged.
std::string quote_word(const std::string& word) {
  if (!word.empty()
      && word.find_first_of(" \t\"'") == std::string::npos)
    return word;
  if (word.find('\'') == std::string::npos)
    return "'" + word + "'";
  std::string result = "\"";
  for (auto c : word) {
    if (c == '"')
      result += '\\';
    result += c;
  }
  return result + "\"";
}

// -- talking to the server ----------------------------------------------------

struct endpoint {
  std::string host;
  int port = 8443;
};

std::optional<endpoint> parse_url(const std::string& url, std::string& why) {
  std::string rest = url;
  if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
  } else if (rest.find("://") != std::string::npos) {
    why = "the server URL must start with https:// (got '" + url + "')";
    return std::nullopt;
  }
  if (auto slash = rest.find('/'); slash != std::string::npos)
    rest = rest.substr(0, slash);
  endpoint result;
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      why = "bad server URL '" + url + "'";
      return std::nullopt;
    }
    result.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      port_text = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    result.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  } else {
    result.host = rest;
  }
  if (!port_text.empty()) {
    char* end = nullptr;
    auto n = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || n <= 0 || n > 65535) {
      why = "bad port in server URL '" + url + "'";
      return std::nullopt;
    }
    result.port = static_cast<int>(n);
  }
  if (result.host.empty()) {
    why = "no host in server URL '" + url + "'";
    return std::nullopt;
  }
  return result;
}

std::atomic<bool> interrupted{false};

extern "C" void on_sigint(int) {
  interrupted = true;
}

class api_client {
public:
  api_client(const options& opts, const endpoint& where)
    : opts_(opts), http_(where.host, where.port, opts.cert, opts.key) {
    SSL_CTX_set_min_proto_version(http_.ssl_context(), TLS1_3_VERSION);
    http_.enable_server_certificate_verification(true);
    if (!opts.ca.empty())
      http_.set_ca_cert_path(opts.ca.c_str());
    http_.set_connection_timeout(std::chrono::seconds{10});
    // Commands may be silent for long (wait-nodes, a large hash).
    http_.set_read_timeout(std::chrono::hours{24});
    http_.set_keep_alive(true);
  }

  httplib::Headers headers() const {
    httplib::Headers result{{"Accept", "application/x-ndjson"}};
    if (!opts_.token.empty())
      result.emplace("Authorization", "Bearer " + opts_.token);
    if (!opts_.op.empty())
      result.emplace("X-Dirscope-Operator", opts_.op);
    return result;
  }

  /// Explains a failed exchange on stderr.
  void explain(httplib::Error err) {
    auto text = httplib::to_string(err);
    if (err == httplib::Error::SSLServerVerification)
      std::cerr << "dirscope: the server's certificate does not verify"
                << (opts_.ca.empty()
                      ? ": give the server's CA with --ca (the server's "
                        "state dir has ca.crt)"
                      : " with the CA in " + opts_.ca)
                << "\n";
    else if (err == httplib::Error::Canceled && interrupted)
      std::cerr << "cancelled\n";
    else
      std::cerr << "dirscope: cannot talk to the server at " << opts_.server
                << ": " << text << "\n";
  }

  /// Reports an HTTP error reply on stderr.
  static void explain(const httplib::Response& res) {
    if (res.status == 409)
      return; // retried by the shell
    auto body = json::parse(res.body, nullptr, false);
    if (body.is_object() && body.contains("message"))
      std::cerr << "error: " << body["message"].get<std::string>() << " ("
                << body.value("code", std::string{"error"}) << ")\n";
    else
      std::cerr << "dirscope: the server answered HTTP " << res.status << "\n";
  }

  /// Runs `line` and streams its output; returns the final status object
  /// (empty when the exchange failed, already explained).
  json run(const std::string& line, bool confirm, const std::string& session,
           bool json_output) {
    json body{{"command", line}, {"confirm", confirm}};
    if (!session.empty())
      body["session"] = session;
    httplib::Request req;
    req.method = "POST";
    req.path = "/api/v1/run";
    req.headers = headers();
    req.headers.emplace("Content-Type", "application/json");
    req.body = body.dump();
    std::string pending;
    std::string held; // the last complete line: the status, once all came
    bool http_ok = false;
    req.response_handler = [&http_ok](const httplib::Response& res) {
      http_ok = res.status == 200;
      return true;
    };
    req.content_receiver = [&](const char* data, size_t len, uint64_t,
                               uint64_t) {
      if (interrupted)
        return false;
      if (!http_ok) {
        pending.append(data, len); // the error body
        return true;
      }
      pending.append(data, len);
      size_t start = 0;
      for (auto nl = pending.find('\n'); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        auto line = pending.substr(start, nl - start + 1);
        start = nl + 1;
        if (line == "\n")
          continue; // keep-alive
        if (!held.empty())
          print(held, json_output);
        held = std::move(line);
      }
      pending.erase(0, start);
      return true;
    };
    std::atomic<bool> done{false};
    std::thread watcher{[this, &done] {
      // Ctrl-C: close the connection, which cancels the command.
      while (!done) {
        if (interrupted) {
          http_.stop();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
      }
    }};
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    auto ok = http_.send(req, res, err);
    done = true;
    watcher.join();
    if (!ok || err != httplib::Error::Success) {
      explain(interrupted ? httplib::Error::Canceled : err);
      return {};
    }
    if (res.status != 200) {
      res.body = pending;
      explain(res);
      return json{{"status", "error"}, {"http", res.status}};
    }
    auto status = json::parse(held, nullptr, false);
    if (!status.is_object() || !status.contains("status")) {
      std::cerr << "dirscope: the output ended early (no status line)\n";
      return {};
    }
    return status;
  }

  /// Opens a session; returns its id and first prompt (empty on failure).
  std::pair<std::string, std::string> open_session() {
    auto res = http_.Post("/api/v1/session", headers(), "", "text/plain");
    if (!res) {
      explain(res.error());
      return {};
    }
    if (res->status != 200) {
      explain(*res);
      return {};
    }
    auto body = json::parse(res->body, nullptr, false);
    if (!body.is_object() || !body.contains("session"))
      return {};
    return {body["session"].get<std::string>(),
            body.value("prompt", std::string{"dirscope> "})};
  }

  /// Tab: the words the session's console offers for the end of `before`
  /// (none when the server does not answer).
  std::vector<std::string> complete(const std::string& session,
                                    const std::string& before) {
    std::vector<std::string> words;
    auto path = "/api/v1/session/" + session + "/complete";
    auto res = http_.Post(path, headers(), before, "text/plain");
    if (!res) // the server closed the idle keep-alive connection: once more
      res = http_.Post(path, headers(), before, "text/plain");
    if (!res || res->status != 200)
      return words;
    auto body = json::parse(res->body, nullptr, false);
    if (body.is_array())
      for (auto& w : body)
        if (w.is_string())
          words.push_back(w.get<std::string>());
    return words;
  }

  /// Downloads `path` of `node` into `local` (a new file; "-": stdout).
  int download(const std::string& node, const std::string& path,
               const std::string& local) {
    std::FILE* out = stdout;
    std::string part;
    if (local != "-") {
      if (::access(local.c_str(), F_OK) == 0) {
        std::cerr << "error: " << local
                  << " exists: get never writes over a file (bad_request)\n";
        return 1;
      }
      part = local + ".dirscope-part";
      out = std::fopen(part.c_str(), "wbx");
      if (out == nullptr) {
        std::cerr << "error: cannot create " << part << ": "
                  << std::strerror(errno) << " (io_error)\n";
        return 1;
      }
    }
    httplib::Params params{{"node", node}, {"path", path}};
    std::string error_body;
    int status = 0;
    bool write_failed = false;
    uint64_t written = 0;
    auto res = http_.Get(
      "/api/v1/file", params, headers(),
      [&status](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (interrupted)
          return false;
        if (status != 200) {
          error_body.append(data, len);
          return true;
        }
        if (std::fwrite(data, 1, len, out) != len) {
          write_failed = true;
          return false;
        }
        written += len;
        return true;
      });
    auto ok = res && status == 200 && !write_failed;
    if (local != "-") {
      ok = std::fclose(out) == 0 && ok;
      if (ok && std::rename(part.c_str(), local.c_str()) != 0)
        ok = false;
      if (!ok)
        std::remove(part.c_str());
    } else {
      std::fflush(stdout);
    }
    if (!res) {
      explain(res.error());
      return 1;
    }
    if (status != 200) {
      httplib::Response r;
      r.status = status;
      r.body = error_body;
      explain(r);
      return 1;
    }
    if (!ok) {
      std::cerr << "error: cannot write " << local << " (io_error)\n";
      return 1;
    }
    if (local != "-")
      std::cerr << "downloaded " << node << ":" << path << " to " << local
                << " (" << written << " bytes)\n";
    return 0;
  }

  /// Uploads local file `local` as new file `path` on `node`.
  int upload(const std::string& local, const std::string& node,
             const std::string& path) {
    std::FILE* in = std::fopen(local.c_str(), "rb");
    if (in == nullptr) {
      std::cerr << "error: cannot read " << local << ": "
                << std::strerror(errno) << " (io_error)\n";
      return 1;
    }
    std::fseek(in, 0, SEEK_END);
    auto size = static_cast<size_t>(std::ftell(in));
    std::fseek(in, 0, SEEK_SET);
    auto target = "/api/v1/file?node=" + url_encode(node)
                  + "&path=" + url_encode(path);
    std::vector<char> buf(64 * 1024);
    auto res = http_.Put(
      target.c_str(), headers(), size,
      [&](size_t, size_t length, httplib::DataSink& sink) {
        if (interrupted)
          return false;
        auto n = std::fread(buf.data(), 1, std::min(length, buf.size()), in);
        if (n == 0)
          return false; // the file shrank
        return sink.write(buf.data(), n);
      },
      "application/octet-stream");
    std::fclose(in);
    if (!res) {
      explain(res.error());
      return 1;
    }
    if (res->status != 201) {
      explain(*res);
      return 1;
    }
    std::cerr << "uploaded " << local << " to " << node << ":"
              << dirscope::protocol::escape_name(path) << " (" << size
              << " bytes)\n";
    return 0;
  }

  static std::string url_encode(const std::string& text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string result;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
          || c == '/') {
        result += static_cast<char>(c);
      } else {
        result += '%';
        result += digits[c >> 4];
        result += digits[c & 15];
      }
    }
    return result;
  }

  void close_session(const std::string& id) {
    http_.Delete(("/api/v1/session/" + id).c_str(), headers());
  }

private:
  static void print(const std::string& line, bool json_output) {
    if (json_output) {
      std::fwrite(line.data(), 1, line.size(), stdout);
    } else {
      auto x = json::parse(line, nullptr, false);
      if (x.is_object() && x.contains("out") && x["out"].is_string()) {
        auto text = x["out"].get<std::string>();
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
    }
    std::fflush(stdout);
  }

  const options& opts_;
  httplib::SSLClient http_;
};

/// Prints a failed command's status like the server's shell does; returns
/// the exit status.
int report(const json& status) {
  if (!status.is_object())
    return 1;
  if (status.value("status", std::string{}) == "ok")
    return 0;
  if (status.contains("http")) {
    if (status["http"] == 409)
      std::cerr << "error: the session is still running another command "
                   "(too_many_requests)\n";
    return 1; // others explained already
  }
  auto code = status.value("code", std::string{"internal"});
  auto message = status.value("message", std::string{});
  if (code == "cancelled")
    std::cerr << "cancelled\n";
  else
    std::cerr << "error: " << message << " (" << code << ")\n";
  return 1;
}

/// Whether `cmd` (an rm) carries -y / --yes.
bool says_yes(const dirscope::shell::command& cmd) {
  if (cmd.has_flag("yes"))
    return true;
  for (auto& arg : cmd.args)
    if (arg.size() >= 2 && arg[0] == '-'
        && arg.find_first_not_of("ry", 1) == std::string::npos
        && arg.find('y') != std::string::npos)
      return true;
  return false;
}

bool is_rm(const dirscope::shell::command& cmd) {
  return cmd.spec != nullptr && cmd.spec->name == "rm";
}

/// NODE:PATH as the shell writes it (escapes allowed): node and raw path.
std::optional<std::pair<std::string, std::string>>
split_remote(const std::string& remote) {
  auto colon = remote.find(':');
  if (colon == std::string::npos || colon == 0)
    return std::nullopt;
  auto path = dirscope::protocol::unescape_name(remote.substr(colon + 1));
  if (!path || path->empty())
    return std::nullopt;
  return std::make_pair(remote.substr(0, colon), std::move(*path));
}

/// `dirscope get NODE:PATH [LOCAL]` through /api/v1/file.
int run_get(api_client& api, const dirscope::shell::command& cmd) {
  auto usage = [] {
    std::cerr << "dirscope get NODE:PATH [LOCAL]: one file (flags, "
                 "directories and put only at the server's console)\n";
    return 2;
  };
  if (!cmd.flags.empty() || !cmd.options.empty() || cmd.args.empty()
      || cmd.args.size() > 2)
    return usage();
  auto remote = split_remote(cmd.args[0]);
  if (!remote)
    return usage();
  auto& [node, path] = *remote;
  std::string local;
  if (cmd.args.size() == 2) {
    local = cmd.args[1];
  } else {
    auto slash = path.rfind('/');
    local = dirscope::protocol::escape_name(path.substr(slash + 1));
    if (local.empty() || local == "." || local == "..")
      return usage();
  }
  return api.download(node, path, local);
}

/// `dirscope put LOCAL NODE:PATH` through PUT /api/v1/file.
int run_put(api_client& api, const dirscope::shell::command& cmd) {
  auto usage = [] {
    std::cerr << "dirscope put LOCAL NODE:PATH: one file, as a new file "
                 "(flags and directories only at the server's console)\n";
    return 2;
  };
  if (!cmd.flags.empty() || !cmd.options.empty() || cmd.args.size() != 2)
    return usage();
  auto& local = cmd.args[0];
  auto remote = split_remote(cmd.args[1]);
  if (!remote)
    return usage();
  auto& [node, path] = *remote;
  if (path.back() == '/')
    path += local.substr(local.rfind('/') + 1);
  return api.upload(local, node, path);
}

// -- the shell ----------------------------------------------------------------

std::string history_file() {
  auto home = std::getenv("HOME");
  return home != nullptr ? std::string{home} + "/.dirscope_cli_history"
                         : std::string{};
}

/// Asks on the terminal; false without one.
bool ask(const std::string& question) {
  if (::isatty(STDIN_FILENO) != 1)
    return false;
  std::cerr << question << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  answer = trim(answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

int run_shell(api_client& api) {
  auto [session, prompt] = api.open_session();
  if (session.empty())
    return 1;
  auto interactive = ::isatty(STDIN_FILENO) == 1;
  if (interactive) {
    // Tab asks the session's console, as the server's own shell does.
    dirscope::shell::install_edit_completion(
      [&api, session = session](const std::string& before) {
        return api.complete(session, before);
      });
    if (auto file = history_file(); !file.empty())
      read_history(file.c_str());
  }
  auto failures = 0;
  for (;;) {
    interrupted = false;
    std::string line;
    if (interactive) {
      char* raw = readline(prompt.c_str());
      if (raw == nullptr) {
        std::cout << "\n";
        break;
      }
      line = raw;
      std::free(raw);
      if (!trim(line).empty())
        add_history(line.c_str());
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    auto text = trim(line);
    if (text.empty())
      continue;
    if (text == "quit" || text == "exit")
      break;
    auto cmd = dirscope::shell::parse_command(text);
    if (!cmd) {
      std::cerr << dirscope::shell::render_failure(cmd.error());
      ++failures;
      continue;
    }
    auto confirm = false;
    if (is_rm(*cmd))
      confirm = says_yes(*cmd) || ask("delete " + text.substr(3)
                                      + "? [y/N] ");
    auto status = api.run(text, confirm, session, cmd->has_flag("json"));
    // After a Ctrl-C the session may still be ending the cancelled
    // command for a moment (409): try again, bounded.
    auto busy = [&status] {
      return status.is_object() && status.value("http", 0) == 409;
    };
    for (int i = 0; i < 20 && busy(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{250});
      status = api.run(text, confirm, session, cmd->has_flag("json"));
    }
    if (status.is_null() && !interrupted)
      return 1; // the server is gone
    if (report(status) != 0)
      ++failures;
    if (status.is_object() && status.contains("prompt"))
      prompt = status["prompt"].get<std::string>();
  }
  if (interactive)
    if (auto file = history_file(); !file.empty())
      write_history(file.c_str());
  api.close_session(session);
  // Piped commands: the status says whether all went well.
  return !interactive && failures > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  std::optional<std::string> flag_server, flag_token, flag_token_file,
    flag_ca, flag_cert, flag_key, flag_op;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!words.empty()) {
      words.push_back(arg); // the command's own options
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << usage_text;
      return 0;
    }
    if (arg == "--confirm") {
      opts.confirm = true;
      continue;
    }
    auto take = [&](const char* name, std::optional<std::string>& into) {
      auto len = std::strlen(name);
      if (arg == name) {
        if (i + 1 >= argc)
          return -1;
        into = argv[++i];
        return 1;
      }
      if (arg.size() > len && arg.compare(0, len, name) == 0
          && arg[len] == '=') {
        into = arg.substr(len + 1);
        return 1;
      }
      return 0;
    };
    int got = 0;
    for (auto [name, into] :
         {std::pair{"--server", &flag_server}, {"--token", &flag_token},
          {"--token-file", &flag_token_file}, {"--ca", &flag_ca},
          {"--cert", &flag_cert}, {"--key", &flag_key},
          {"--operator", &flag_op}}) {
      got = take(name, *into);
      if (got != 0)
        break;
    }
    if (got < 0)
      return usage_error(arg + " needs a value");
    if (got > 0)
      continue;
    if (arg.size() > 1 && arg[0] == '-')
      return usage_error("unknown option " + arg);
    words.push_back(arg);
  }
  if (words.empty())
    return usage_error("no command given");
  // Flags, then the environment, then the config file.
  auto file = read_config(config_path());
  auto pick = [&file](std::optional<std::string>& flag, const char* env,
                      const char* key, std::string& into) {
    if (flag) {
      into = *flag;
    } else if (auto e = std::getenv(env); e != nullptr && *e) {
      into = e;
    } else if (auto i = file.find(key); i != file.end()) {
      into = i->second;
    }
  };
  pick(flag_server, "DIRSCOPE_SERVER", "server", opts.server);
  pick(flag_token, "DIRSCOPE_TOKEN", "token", opts.token);
  pick(flag_token_file, "DIRSCOPE_TOKEN_FILE", "token-file", opts.token_file);
  pick(flag_ca, "DIRSCOPE_CA", "ca", opts.ca);
  pick(flag_cert, "DIRSCOPE_CERT", "cert", opts.cert);
  pick(flag_key, "DIRSCOPE_KEY", "key", opts.key);
  if (opts.cert.empty() != opts.key.empty())
    return usage_error("--cert and --key go together");
  pick(flag_op, "DIRSCOPE_OPERATOR", "operator", opts.op);
  if (opts.op.empty())
    if (auto user = std::getenv("USER"); user != nullptr)
      opts.op = user;
  if (opts.token.empty() && !opts.token_file.empty()) {
    std::ifstream in{opts.token_file};
    if (!in)
      return usage_error("cannot read the token file " + opts.token_file);
    std::getline(in, opts.token);
    opts.token = trim(opts.token);
  }
  auto is_shell = words.size() == 1 && words[0] == "shell";
  std::string line;
  std::optional<dirscope::shell::command> cmd;
  if (!is_shell) {
    for (auto& w : words)
      line += (line.empty() ? "" : " ") + quote_word(w);
    auto parsed = dirscope::shell::parse_command(line);
    if (!parsed) {
      std::cerr << dirscope::shell::render_failure(parsed.error());
      return 2;
    }
    if (parsed->spec->name == "help") {
      auto text = dirscope::shell::help_text(
        parsed->args.empty() ? std::nullopt
                             : std::optional<std::string_view>{
                               parsed->args[0]});
      if (!text) {
        std::cerr << dirscope::shell::render_failure(text.error());
        return 2;
      }
      std::cout << *text;
      return 0;
    }
    cmd = std::move(*parsed);
  }
  if (opts.token.empty() && opts.cert.empty())
    return usage_error("no operator token: give --token, --token-file, "
                       "DIRSCOPE_TOKEN or token-file in "
                       + config_path()
                       + " (the server keeps it in STATE_DIR/operator.token)");
  std::string why;
  auto where = parse_url(opts.server, why);
  if (!where)
    return usage_error(why);
  std::signal(SIGPIPE, SIG_IGN);
  api_client api{opts, *where};
  if (is_shell) {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, nullptr);
    return run_shell(api);
  }
  if (cmd->spec->name == "get")
    return run_get(api, *cmd);
  if (cmd->spec->name == "put")
    return run_put(api, *cmd);
  auto confirm = opts.confirm || (is_rm(*cmd) && says_yes(*cmd));
  return report(api.run(line, confirm, {}, cmd->has_flag("json")));
}
