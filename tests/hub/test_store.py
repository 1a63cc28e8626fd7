"""The store on its own: concurrent writers lose no commit; bad names never reach the filesystem."""

from __future__ import annotations

import os
import threading
import time

import pytest

from hf_replearn.hub.store import HubError, Store, check_file_path, check_repo_id, git_blob_oid


def test_concurrent_commits_from_two_stores_on_one_root_lose_nothing(tmp_path):
    stores = [Store(tmp_path), Store(tmp_path)]  # like two server processes sharing --root
    stores[0].create_repo("model", "team/busy", private=False, author="a")

    def commit(i):
        store = stores[i % 2]
        blob = store.put_blob(f"file {i}".encode())
        store.commit("model", "team/busy", "main", [("add", f"f{i}.txt", blob)], f"add f{i}", "", "a")

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    _, head = stores[1].resolve("model", "team/busy", "main")
    assert sorted(head["files"]) == [f"f{i}.txt" for i in range(8)]
    assert len(stores[0].history("model", "team/busy", "main")) == 9  # initial + 8, one line


def test_names_are_checked():
    assert git_blob_oid(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`
    assert check_file_path("a/b.txt") == "a/b.txt"
    for bad in ("", "/a", "a/../b", "..", "a\\b", "a//b", "C:x", "a/\x00"):
        with pytest.raises(HubError) as err:
            check_file_path(bad)
        assert err.value.status == 400
    for ns, name in (("..", "x"), ("a", ".."), ("a", "b.git"), ("-a", "b"), ("a b", "c"), ("", "c")):
        with pytest.raises(HubError):
            check_repo_id(ns, name)


def test_a_blob_is_stored_with_its_record_and_an_older_blob_gets_one_on_first_use(tmp_path):
    store = Store(tmp_path)
    info = store.put_blob(b"hello\n")
    assert info == {"sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "size": 6,
                    "oid": "ce013625030ba8dba906f756967f9e9ca394464a"}
    record = store.blob_path(info["sha256"]).with_name(info["sha256"] + ".json")
    assert store.blob_info(info["sha256"]) == info
    record.unlink()  # as a store written before records were kept
    assert store.blob_info(info["sha256"]) == info and record.is_file()
    assert store.blob_info("0" * 64) is None
    assert store.put_blob(b"hello\n") == info  # the same contents again: the stored copy is kept
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []


def test_part_files_left_by_a_killed_server_are_removed_after_a_day(tmp_path):
    Store(tmp_path)
    old, fresh = tmp_path / "objects" / "tmp" / "a.part", tmp_path / "objects" / "tmp" / "b.part"
    old.write_bytes(b"cut off")
    fresh.write_bytes(b"being received")
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(old, (day_ago, day_ago))
    Store(tmp_path)
    assert sorted(p.name for p in (tmp_path / "objects" / "tmp").iterdir()) == ["b.part"]
