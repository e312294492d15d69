// A tiny HTTP/1.1 server on 127.0.0.1 for the unit tests of the HTTP
// clients (the validation service, Intune's token endpoint).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace scepter::test {

// One HTTP/1.1 server thread on 127.0.0.1, one thread per connection. Each
// request takes the next scripted action (or the default one) and is
// recorded.
class TestServer {
   public:
    enum class Action { Respond, Hang, Close };
    struct Reply {
        Action action = Action::Respond;
        int status = 200;
        std::string body;
    };
    struct Request {
        std::string method, path, body;
        std::map<std::string, std::string> headers;  // names in lower case
    };

    TestServer() {
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        socklen_t len = sizeof addr;
        if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            listen(listen_fd_, 16) != 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
            pipe2(stop_pipe_, O_CLOEXEC) != 0) {
            throw std::runtime_error("test server: cannot listen");
        }
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~TestServer() {
        (void)!write(stop_pipe_[1], "x", 1);
        acceptor_.join();
        for (auto& t : connections_) t.join();
        close(listen_fd_);
        close(stop_pipe_[0]);
        close(stop_pipe_[1]);
    }

    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

    void script(std::deque<Reply> replies) { script(std::move(replies), Reply()); }
    void script(std::deque<Reply> replies, Reply fallback) {
        std::lock_guard<std::mutex> lock(mu_);
        script_ = std::move(replies);
        default_ = std::move(fallback);
    }

    std::vector<Request> received() {
        std::lock_guard<std::mutex> lock(mu_);
        return received_;
    }

   private:
    // Waits for fd to be readable; false when the server stops first.
    bool wait_readable(int fd) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        for (;;) {
            int n = poll(fds, 2, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 || (fds[1].revents & POLLIN)) return false;
            if (fds[0].revents) return true;
        }
    }

    void accept_loop() {
        while (wait_readable(listen_fd_)) {
            int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            connections_.emplace_back([this, fd] {
                serve(fd);
                close(fd);
            });
        }
    }

    void serve(int fd) {
        std::string data;
        char buf[4096];
        std::size_t header_end;
        while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
            if (!wait_readable(fd)) return;
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) return;
            data.append(buf, std::size_t(n));
        }
        Request req;
        std::string head = data.substr(0, header_end);
        std::size_t line_end = head.find("\r\n");
        std::string request_line = head.substr(0, line_end);
        req.method = request_line.substr(0, request_line.find(' '));
        req.path = request_line.substr(req.method.size() + 1, request_line.rfind(' ') - req.method.size() - 1);
        for (std::size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
            std::size_t next = head.find("\r\n", pos + 2);
            std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string name = line.substr(0, colon);
                for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                req.headers[name] = value;
            }
            pos = next;
        }
        std::size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
        req.body = data.substr(header_end + 4);
        while (req.body.size() < length) {
            if (!wait_readable(fd)) return;
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) return;
            req.body.append(buf, std::size_t(n));
        }
        Reply reply;
        {
            std::lock_guard<std::mutex> lock(mu_);
            received_.push_back(req);
            if (!script_.empty()) {
                reply = script_.front();
                script_.pop_front();
            } else {
                reply = default_;
            }
        }
        if (reply.action == Action::Close) return;
        if (reply.action == Action::Hang) {
            wait_readable(stop_pipe_[0]);  // until the server stops
            return;
        }
        std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Whatever\r\nContent-Type: application/json\r\n" +
                          "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" +
                          reply.body;
        (void)!write(fd, out.data(), out.size());
    }

    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    int port_ = 0;
    std::thread acceptor_;
    std::vector<std::thread> connections_;  // only the acceptor thread adds
    std::mutex mu_;
    std::deque<Reply> script_;
    Reply default_;
    std::vector<Request> received_;
};

}  // namespace scepter::test
