// The core's side of one HTTP exchange: what the connector hands in and what
// it writes back. Plain data; the C boundary (service/capi.cc) translates.
#pragma once

#include "scepter/log_level.h"
#include "scepter/pki_message.h"

#include <string>
#include <utility>
#include <vector>

namespace scepter {

struct Request {
    std::string method;
    std::string path;
    std::string query;
    std::string content_type;
    std::string client_ip;
    std::string user_agent;
    std::string profile;
    std::string route;         // "", "admin", "mscep_admin", "enrollments", "metrics"
    std::string remote_user;   // authenticated by the web server
    std::string client_cert;   // verified by the web server
    const unsigned char* body = nullptr;
    std::size_t body_len = 0;
};

struct LogLine {
    scepter_log_level level;
    std::string text;  // begins with the message ID
};

struct Response {
    int status = 200;
    std::string content_type;
    Bytes body;
    std::vector<LogLine> logs;
    std::vector<std::pair<std::string, std::string>> headers;  // more HTTP headers (name, value)

    void log(scepter_log_level level, const char* id, const std::string& text) {
        logs.push_back({level, std::string(id) + " " + text});
    }
};

// An answer of this content type with this body.
Response typed_response(int status, const char* content_type, const std::string& body);
// A plain-text answer (GetCACaps, HTTP errors).
Response text_response(int status, const std::string& text);
// The admin faces' JSON answers.
Response json_response(int status, const std::string& json);

}  // namespace scepter
