"""`inbound openapi`, `inbound db upgrade` and `inbound db downgrade`, run as an operator runs
them: in their own process."""

import asyncio
import json
import sqlite3
from pathlib import Path

import yaml

from inbound import migrate
from inbound.models import metadata
from tests.cli.helpers import one_line_error, run, unused_sqlite_url


class TestOpenApiCommand:
    def test_prints_the_contract_as_json(self, tmp_path: Path) -> None:
        url, db_file = unused_sqlite_url(tmp_path)

        result = run("openapi", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["openapi"].startswith("3.")
        assert "/api/v1/personas" in document["paths"]
        assert "/api/v1/api-keys" in document["paths"]
        assert not db_file.exists()

    def test_writes_yaml_when_the_output_says_so(self, tmp_path: Path) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        output = tmp_path / "contract.yaml"

        result = run("openapi", "--output", str(output), database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        text = output.read_text(encoding="utf-8")
        assert not text.lstrip().startswith("{")
        document = yaml.safe_load(text)
        assert "/api/v1/personas" in document["paths"]
        as_json = json.loads(run("openapi", database_url=url, cwd=tmp_path).stdout)
        assert document == as_json

    def test_writes_json_to_a_json_file(self, tmp_path: Path) -> None:
        url, _ = unused_sqlite_url(tmp_path)
        output = tmp_path / "contract.json"

        result = run("openapi", "--output", str(output), database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert "/api/v1/personas" in json.loads(output.read_text(encoding="utf-8"))["paths"]


class TestDbUpgradeCommand:
    def test_migrates_a_fresh_sqlite_file(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"

        result = run("db", "upgrade", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            [version] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert {"api_keys", "sites", "personas", "alembic_version"} <= tables
        assert {table.name for table in metadata.sorted_tables} <= tables
        assert version[0]

    def test_a_second_upgrade_changes_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"
        assert run("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0

        result = run("db", "upgrade", database_url=url, cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            assert len(conn.execute("SELECT version_num FROM alembic_version").fetchall()) == 1

    def test_issued_keys_work_against_the_migrated_file(self, tmp_path: Path) -> None:
        path = tmp_path / "fresh.db"
        url = f"sqlite+aiosqlite:///{path}"
        assert run("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0

        result = run(
            "api-key", "create", "--name", "ops", "--scope", "admin", database_url=url, cwd=tmp_path
        )

        assert result.returncode == 0, result.stderr
        key = result.stdout.splitlines()[-1]
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name, prefix, scopes FROM api_keys").fetchall()
        assert len(rows) == 1
        assert rows[0][0] == "ops"
        assert key.startswith(rows[0][1])
        assert json.loads(rows[0][2]) == ["admin"]


class TestDbDowngradeCommand:
    def test_steps_back_one_at_a_time_and_up_again(
        self, empty_database: str, tmp_path: Path
    ) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        head = migrate.head_revision()
        seen = [head]
        while True:
            result = run("db", "downgrade", "-1", database_url=empty_database, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            seen.append(result.stdout.split()[-1])
            if seen[-1] == "base":
                break
        assert len(seen) == len(migrate.known_revisions()) + 1
        assert len(set(seen)) == len(seen)

        again = run("db", "upgrade", database_url=empty_database, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert head in again.stdout

    def test_two_steps_then_base(self, empty_database: str, tmp_path: Path) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        two = run("db", "downgrade", "-2", database_url=empty_database, cwd=tmp_path)
        assert two.returncode == 0, two.stderr
        assert asyncio.run(migrate.current_revision(empty_database)) not in {
            None,
            migrate.head_revision(),
        }
        base = run("db", "downgrade", "base", database_url=empty_database, cwd=tmp_path)
        assert base.returncode == 0, base.stderr
        assert base.stdout.strip() == "database at base"
        assert asyncio.run(migrate.current_revision(empty_database)) is None

    def test_nothing_to_downgrade_is_one_line(self, empty_database: str, tmp_path: Path) -> None:
        result = run("db", "downgrade", "-1", database_url=empty_database, cwd=tmp_path)
        assert result.returncode == 1
        assert "no schema" in one_line_error(result)

    def test_an_unknown_revision_is_one_line(self, empty_database: str, tmp_path: Path) -> None:
        assert run("db", "upgrade", database_url=empty_database, cwd=tmp_path).returncode == 0
        result = run("db", "downgrade", "nosuchrev", database_url=empty_database, cwd=tmp_path)
        assert result.returncode == 1
        assert "nosuchrev" in one_line_error(result)
