/*
 * Severity of a log record the core hands to its consumer (the connector
 * writes it to the server's error log, the CLI to stderr). A header of its
 * own so that the core's internals can log without including the C ABI.
 */
#ifndef SCEPTER_LOG_LEVEL_H
#define SCEPTER_LOG_LEVEL_H

typedef enum {
    SCEPTER_LOG_DEBUG = 0,
    SCEPTER_LOG_INFO = 1,
    SCEPTER_LOG_WARN = 2,
    SCEPTER_LOG_ERROR = 3
} scepter_log_level;

#endif /* SCEPTER_LOG_LEVEL_H */
