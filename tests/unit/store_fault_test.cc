// A store that cannot be written fails closed and heals: its errors say
// "unavailable" (not a bug, not the client's fault), nothing is half-written,
// the next call after recovery works without reopening the Store. A store
// file that disappears is never silently replaced by an empty one.
#include "scepter/store.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/store_sqlite.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <functional>
#include <string>

namespace scepter {
namespace {

using namespace store_test;

bool unavailable_error(const std::function<void()>& call) {
    try {
        call();
    } catch (const StoreError& e) {
        return e.unavailable();
    }
    return false;
}

TEST(StoreFault, SqliteCodesThatMeanTheStoreCannotBeUsed) {
    for (int code : {SQLITE_READONLY, SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_CANTOPEN, SQLITE_BUSY,
                     SQLITE_BUSY_TIMEOUT, SQLITE_READONLY_DBMOVED}) {
        EXPECT_TRUE(sqlite::SqliteError("x", code).unavailable()) << code;
    }
    for (int code : {SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE, SQLITE_ERROR, SQLITE_MISUSE}) {
        EXPECT_FALSE(sqlite::SqliteError("x", code).unavailable()) << code;
    }
    EXPECT_FALSE(StoreError("serial 'x' is not hex").unavailable());
}

TEST_F(StoreTest, ANewStoreGetsItsMarker) {
    EXPECT_NO_THROW(check_store_not_lost(path_));  // nothing was ever here
    auto store = open_sqlite_store(path_, 5000);
    EXPECT_TRUE(fs::exists(store_marker_path(path_)));
}

TEST_F(StoreTest, AStoreFromBeforeTheMarkerGetsOneWhenOpened) {
    open_sqlite_store(path_, 5000);
    fs::remove(store_marker_path(path_));
    open_sqlite_store(path_, 5000);
    EXPECT_TRUE(fs::exists(store_marker_path(path_)));
}

TEST_F(StoreTest, ADeletedStoreIsRefusedNotRecreated) {
    open_sqlite_store(path_, 5000)->record_issuance(make_cert(1), make_tx(make_cert(1)));
    fs::remove(path_);
    try {
        open_sqlite_store(path_, 5000);
        FAIL() << "an empty store replaced the deleted one";
    } catch (const StoreError& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("the store " + path_ + " is missing"), std::string::npos) << what;
        EXPECT_NE(what.find(store_marker_path(path_)), std::string::npos) << what;
    }
    EXPECT_THROW(check_store_not_lost(path_), StoreError);
    EXPECT_FALSE(fs::exists(path_));
}

TEST_F(StoreTest, WalLeftoversAloneAlsoShowAStoreWasHere) {
    std::FILE* f = std::fopen((path_ + "-wal").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    EXPECT_THROW(check_store_not_lost(path_), StoreError);
}

// The file moved away under an open Store (deleted, or a volume gone): writes
// refuse, as unavailable, instead of landing in an unlinked file; the file
// back in place, the same Store writes again.
TEST_F(StoreTest, AStoreWhoseFileIsGoneRefusesWritesAndHealsWhenItIsBack) {
    auto store = open_sqlite_store(path_, 5000);
    store->record_issuance(make_cert(1), make_tx(make_cert(1)));
    const std::string aside = path_ + ".aside";
    fs::rename(path_, aside);
    EXPECT_TRUE(unavailable_error([&] { store->record_issuance(make_cert(2), make_tx(make_cert(2))); }));
    EXPECT_TRUE(unavailable_error([&] { store->revoke(make_cert(1).serial_hex, 1, 10); }));
    fs::rename(aside, path_);
    store->record_issuance(make_cert(3), make_tx(make_cert(3)));
    EXPECT_TRUE(store->find_cert(make_cert(1).serial_hex));
    EXPECT_FALSE(store->find_cert(make_cert(2).serial_hex));  // nothing half-written
    EXPECT_TRUE(store->find_cert(make_cert(3).serial_hex));
}

// Another process holding the write lock past the busy timeout.
TEST_F(StoreTest, ABusyTimeoutIsUnavailable) {
    auto store = open_sqlite_store(path_, 100);
    sqlite::Connection holder(path_, 5000);
    holder.exec("BEGIN IMMEDIATE");
    EXPECT_TRUE(unavailable_error([&] { store->record_issuance(make_cert(1), make_tx(make_cert(1))); }));
    holder.exec("ROLLBACK");
    store->record_issuance(make_cert(1), make_tx(make_cert(1)));
    EXPECT_TRUE(store->find_cert(make_cert(1).serial_hex));
}

}  // namespace
}  // namespace scepter
