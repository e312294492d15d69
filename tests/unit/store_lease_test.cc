// Leader leases on the SQLite store (a flock beside the file): one holder
// among every Store object and process of the machine, freed when the
// holder lets go or dies (SIGKILL). PostgreSQL's (an advisory lock) is
// tested by tests/integration/test_215_intune_revocation.py on two nodes.
#include "scepter/store.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

namespace scepter {
namespace {

using store_test::StoreTest;

TEST_F(StoreTest, OneLeaseHolderAmongTheStoresOfAFile) {
    auto a = open_sqlite_store(path_, 5000);
    auto b = open_sqlite_store(path_, 5000);
    auto held = a->try_leader_lease("intune-revocation-sync:p");
    ASSERT_TRUE(held);
    EXPECT_TRUE(held->held());
    EXPECT_FALSE(b->try_leader_lease("intune-revocation-sync:p"));
    EXPECT_FALSE(a->try_leader_lease("intune-revocation-sync:p"));  // another worker of this process, too
    EXPECT_TRUE(b->try_leader_lease("intune-revocation-sync:other"));  // each name its own lease
    held.reset();
    EXPECT_TRUE(b->try_leader_lease("intune-revocation-sync:p"));
}

TEST_F(StoreTest, AKilledHoldersLeaseIsFree) {
    auto store = open_sqlite_store(path_, 5000);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto own = open_sqlite_store(path_, 5000);
        auto lease = own->try_leader_lease("leader");
        char c = lease ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(2);
        pause();
        _exit(0);
    }
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    ASSERT_EQ(c, 'y');
    EXPECT_FALSE(store->try_leader_lease("leader"));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(store->try_leader_lease("leader"));
    close(ready[0]);
    close(ready[1]);
}

TEST_F(StoreTest, LeaseNamesAreChecked) {
    auto store = open_sqlite_store(path_, 5000);
    EXPECT_THROW(store->try_leader_lease(""), StoreError);
    EXPECT_THROW(store->try_leader_lease("../escape"), StoreError);
    EXPECT_THROW(store->try_leader_lease(std::string(101, 'a')), StoreError);
}

}  // namespace
}  // namespace scepter
