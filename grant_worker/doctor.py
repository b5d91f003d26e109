"""``seatgate doctor``: check what seatgate depends on outside itself, and say how to fix it.

Every check prints one line, ``OK|WARN|FAIL <check>: <finding> — fix: <what to do>``:

    redis              reachable
    redis-persistence  AOF or RDB snapshots on, and not failing
    redis-eviction     no eviction policy that may drop seat states
    redis-clock        this host's clock against Redis's (TIME)
    <product>/upstream      answers, and its clock (Date header) against this host's
    <product>/directory     which directory ``directory = auto`` resolves to
    <product>/admin-login   admin_user's credentials are accepted
    <product>/group-access  the licence group exists and admin_user may manage it
    <product>/licence-group the group grants the application role; the seats it has
    <product>/websudo       Jira: group changes over REST are not held up by WebSudo
    <product>/notifications Jira: e-mail to users without application access (dark feature)

It only reads, apart from one group change that cannot succeed (adding admin_user to a
group that does not exist), which is how WebSudo on exactly that call shows. Exit status
0 without FAIL (WARN allowed), 1 with, 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

OK, WARN, FAIL = "OK", "WARN", "FAIL"

# Grants, activity and the sweeper compare timestamps written on different hosts.
CLOCK_SKEW_MAX = 2.0
REDIS_DEADLINE = 5.0
UPSTREAM_DEADLINE = 10.0
NTP_FIX = (
    "synchronise the clocks of every seatgate host, Redis and Jira/Confluence with NTP (chrony, systemd-timesyncd)"
)
# Jira 8.19+ sends no notification e-mail to users without application access; from
# 8.20.6 this dark feature turns it back on (docs/atlassian-facts.md).
DARK_FEATURE = "com.atlassian.jira.send.email.notifications.to.user.without.application.access.enabled"

Clock = Callable[[], float]


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    finding: str
    fix: str = ""

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix and self.status != OK else ""
        return f"{self.status:<4} {self.check}: {self.finding}{fix}"


def split_fix(problem: str, default_fix: str) -> tuple[str, str]:
    """A directory problem reads "<finding> (<status>): <fix>"; without a fix, use the default."""
    finding, sep, fix = problem.rpartition("): ")
    return (finding + ")", fix) if sep and fix else (problem, default_fix)


def public_url(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=(f"{parts.username}:***@" if parts.username else ":***@") + netloc))


class Doctor:
    def __init__(self, settings: Any, clock: Clock = time.time):
        self.settings = settings
        self.clock = clock  # injectable: the clock checks are tested with a skewed one
        self.findings: list[Finding] = []

    def add(self, check: str, status: str, finding: str, fix: str = "") -> Finding:
        found = Finding(check, status, finding, fix)
        self.findings.append(found)
        return found

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    async def run(self) -> list[Finding]:
        await self.check_redis()
        for product in self.settings.products:
            await self.check_product(product)
        return self.findings

    def _skew(self, check: str, skew: float, other: str) -> None:
        if abs(skew) > CLOCK_SKEW_MAX:
            ahead = "ahead of" if skew > 0 else "behind"
            self.add(
                check,
                WARN,
                f"{other}'s clock is {abs(skew):.1f} s {ahead} this host's "
                f"(more than {CLOCK_SKEW_MAX:g} s: inactivity is judged on timestamps from several hosts)",
                NTP_FIX,
            )
        else:
            self.add(check, OK, f"{other}'s clock is within {abs(skew):.1f} s of this host's")

    # -- Redis --------------------------------------------------------------------------
    async def check_redis(self) -> None:
        from redis.exceptions import RedisError

        from seatgate import redis_conn

        where = public_url(self.settings.redis_url)
        client = redis_conn.connect(self.settings.redis_url)
        try:
            try:
                server = await asyncio.wait_for(client.info("server"), REDIS_DEADLINE)
            except (RedisError, OSError, TimeoutError) as exc:
                self.add(
                    "redis",
                    FAIL,
                    f"not reachable at {where} ({type(exc).__name__}: {exc})",
                    "start Redis, or correct redis_url (SEATGATE_REDIS_URL); check firewalls and the password",
                )
                return
            # A cluster answers per node; the first node's version stands for all.
            if redis_conn.is_cluster(client) and server and all(isinstance(v, dict) for v in server.values()):
                server = next(iter(server.values()))
            self.add("redis", OK, f"reachable at {where} (Redis {server.get('redis_version', '?')})")
            servers = client.get_primaries() if redis_conn.is_cluster(client) else [None]
            for node in servers:
                name = f" on {node.name}" if node is not None else ""
                await self._persistence(client, node, name)
                await self._eviction(client, node, name)
            started = self.clock()
            seconds, micros = await asyncio.wait_for(client.time(), REDIS_DEADLINE)
            ended = self.clock()
            self._skew("redis-clock", seconds + micros / 1e6 - (started + ended) / 2, "Redis")
        except (RedisError, OSError, TimeoutError) as exc:
            self.add(
                "redis",
                FAIL,
                f"Redis failed during the checks ({type(exc).__name__}: {exc})",
                "look at Redis's log; run seatgate doctor again",
            )
        finally:
            try:
                await asyncio.wait_for(client.aclose(), 2)
            except Exception:
                pass  # the connection is being dropped anyway

    async def _ask(self, client: Any, node: Any, method: str, *args: Any) -> Any:
        kwargs = {"target_nodes": node} if node is not None else {}
        return await asyncio.wait_for(getattr(client, method)(*args, **kwargs), REDIS_DEADLINE)

    async def _config(self, client: Any, node: Any, name: str) -> str | None:
        """One CONFIG GET value; None when CONFIG is not allowed (managed Redis often forbids it)."""
        from redis.exceptions import NoPermissionError, ResponseError

        try:
            return (await self._ask(client, node, "config_get", name)).get(name)
        except (ResponseError, NoPermissionError):
            return None

    async def _persistence(self, client: Any, node: Any, on: str) -> None:
        check = "redis-persistence"
        info = await self._ask(client, node, "info", "persistence")
        failing = [
            f"{key}: {info[key]}"
            for key in ("aof_last_write_status", "rdb_last_bgsave_status")
            if info.get(key, "ok") != "ok"
        ]
        if failing:
            self.add(
                check,
                FAIL,
                f"persistence is failing{on} ({', '.join(failing)})",
                "read Redis's log: usually a full disk or a directory Redis cannot write",
            )
            return
        appendonly = await self._config(client, node, "appendonly")
        save = await self._config(client, node, "save")
        if appendonly == "yes" or str(info.get("aof_enabled")) == "1":
            fsync = await self._config(client, node, "appendfsync")
            self.add(check, OK, f"append-only file on{on}" + (f" (appendfsync {fsync})" if fsync else ""))
        elif save:
            self.add(
                check,
                OK,
                f"RDB snapshots only{on} (save {save}): a crash loses the changes since the "
                "last snapshot; the reconciler repairs memberships, appendonly yes loses at most a second",
            )
        elif appendonly is None:
            self.add(
                check,
                WARN,
                f"cannot read the persistence settings{on} (CONFIG is not allowed) and the append-only file is off",
                "make sure Redis persists its data (appendonly yes, or snapshots)",
            )
        else:
            self.add(
                check,
                WARN,
                f"neither the append-only file nor RDB snapshots are on{on}: a Redis restart "
                "forgets every seat state and queued grant",
                "set appendonly yes and appendfsync everysec in redis.conf (or CONFIG SET … and CONFIG REWRITE)",
            )

    async def _eviction(self, client: Any, node: Any, on: str) -> None:
        check = "redis-eviction"
        maxmemory = await self._config(client, node, "maxmemory")
        policy = await self._config(client, node, "maxmemory-policy")
        if maxmemory is None or policy is None:
            self.add(
                check,
                WARN,
                f"cannot read the eviction policy{on} (CONFIG is not allowed)",
                "make sure maxmemory-policy is noeviction (or volatile-*)",
            )
        elif int(maxmemory) > 0 and policy.startswith("allkeys-"):
            self.add(
                check,
                WARN,
                f"maxmemory-policy {policy}{on}: when memory runs out Redis may evict seat states and the grant stream",
                "set maxmemory-policy noeviction, or raise maxmemory",
            )
        else:
            self.add(
                check, OK, f"maxmemory-policy {policy}" + (f", maxmemory {maxmemory}" if int(maxmemory) else "") + on
            )

    # -- one product ----------------------------------------------------------------------
    async def check_product(self, product: Any) -> None:
        from grant_worker.directories import DirectoryError, make_directory

        name = product.name
        if not await self._upstream(product):
            return  # every later check would only repeat that it cannot be reached
        # One attempt per call: the doctor reports a failure, it does not ride it out.
        worker = self.settings.worker.model_copy(update={"directory_retries": 0})
        try:
            directory = await make_directory(product, worker)
        except DirectoryError as exc:
            self.add(f"{name}/directory", FAIL, str(exc), "correct directory, upstream or crowd_url")
            return
        try:
            how = "chosen by probing the upstream" if product.directory == "auto" else "as configured"
            self.add(f"{name}/directory", OK, f"directory = {product.directory!r} → {directory.name} ({how})")
            if not await self._admin_login(product, directory):
                return
            await self._group_and_licence(product, directory)
            if product.kind == "jira":
                if directory.name == "jira":
                    await self._websudo(product, directory)
                await self._notifications(product, directory)
        except DirectoryError as exc:
            self.add(
                f"{name}/directory",
                FAIL,
                f"the upstream failed during the checks: {exc}",
                "run seatgate doctor again once the upstream answers",
            )
        finally:
            await directory.close()

    async def _upstream(self, product: Any) -> bool:
        """GET /status, anonymously. Done here, not through a directory client: the
        directory clients authenticate and hide the response headers, and Date is needed."""
        import aiohttp

        check = f"{product.name}/upstream"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=UPSTREAM_DEADLINE)) as session:
                started = self.clock()
                async with session.get(f"{product.upstream}/status", allow_redirects=False) as response:
                    body = await response.read()
                    ended = self.clock()
                    status, date = response.status, response.headers.get("Date")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.add(
                check,
                FAIL,
                f"{product.upstream} does not answer ({type(exc).__name__}: {exc})",
                "correct upstream (the URL seatgate's hosts reach the product at, not the public one) "
                "or open the firewall",
            )
            return False
        try:
            state = json.loads(body).get("state")
        except (ValueError, AttributeError):
            state = None
        if state not in (None, "RUNNING"):
            self.add(
                check,
                WARN,
                f"{product.upstream}/status says {state} (HTTP {status})",
                "wait until the product has started, or end its maintenance mode",
            )
        else:
            self.add(check, OK, f"{product.upstream} answers (HTTP {status}" + (f", {state})" if state else ")"))
        if date:
            try:
                # Date has whole seconds: its middle is half a second later.
                upstream_time = parsedate_to_datetime(date).timestamp() + 0.5
            except (TypeError, ValueError):
                return True
            self._skew(f"{product.name}/clock", upstream_time - (started + ended) / 2, product.kind.capitalize())
        return True

    async def _get(self, directory: Any, path: str, **kwargs: Any) -> Any:
        """A call on the product's admin REST through the directory's own transport."""
        admin = directory.admin
        return await directory.transport.call(
            "doctor",
            kwargs.pop("method", "GET"),
            admin.url(path),
            authorization=admin.authorization,
            retries=0,
            **kwargs,
        )

    async def _admin_login(self, product: Any, directory: Any) -> bool:
        check = f"{product.name}/admin-login"
        path = "/rest/api/2/myself" if product.kind == "jira" else "/rest/api/user/current"
        reply = await self._get(directory, path)
        body = reply.body if isinstance(reply.body, dict) else {}
        who = body.get("name") or body.get("username")
        if reply.ok and who and body.get("type") != "anonymous":
            self.add(check, OK, f"admin_user {product.admin_user} logs in over REST with Basic auth")
            return True
        self.add(
            check,
            FAIL,
            f"admin_user {product.admin_user} was refused by {product.upstream}{path} (HTTP {reply.status})",
            "check admin_password / admin_password_file; the account needs application access "
            "(keep it licensed and in exclude_users); after failed logins Jira may demand a CAPTCHA: "
            "log in once in a browser as that user; Basic auth must not be disabled for it",
        )
        return False

    async def _group_and_licence(self, product: Any, directory: Any) -> None:
        from grant_worker.directories import DirectoryError

        name, group = product.name, product.license_group
        try:
            licence_problems = await directory.licence.check()
        except DirectoryError as exc:
            licence_problems = [str(exc)]
        # check() stops at its first failing step (the group, then the licence): what it
        # finds beyond the licence's own problems is about the group.
        group_problems = [p for p in await directory.check() if p not in licence_problems]
        if group_problems:
            finding, fix = split_fix(group_problems[0], "give admin_user the rights to manage groups")
            self.add(f"{name}/group-access", FAIL, finding, fix)
        else:
            where = f" in {directory.directory.label}" if directory.directory is not directory.admin else ""
            self.add(
                f"{name}/group-access",
                OK,
                f"licence group {group!r} exists{where} and {directory.directory.who} may manage it",
            )
        check = f"{name}/licence-group"
        if licence_problems:
            finding, fix = split_fix(licence_problems[0], "check app_role and the licence group")
            self.add(check, FAIL, finding, fix)
            return
        seats = await directory.seats()
        figures = (
            "unlimited seats"
            if seats.unlimited
            else f"{seats.total} seats, {seats.used if seats.used is not None else '?'} used"
        )
        if seats.remaining is not None and seats.remaining < 0:
            self.add(
                check,
                WARN,
                f"the licence is exceeded by {-seats.remaining} users ({figures}): Jira refuses "
                "to create issues and Confluence to edit pages until it is not",
                "remove application access from users nobody manages, or buy seats",
            )
        elif product.kind == "jira":
            self.add(check, OK, f"{group!r} grants {product.app_role} ({figures})")
        else:
            self.add(
                check,
                OK,
                f"the licence reads {figures}; Confluence does not say over REST which groups "
                f"have Can use: make sure {group!r} does (Global permissions)",
            )
        await self._cutover(product, directory, seats)

    async def _cutover(self, product: Any, directory: Any, seats: Any) -> None:
        """Whether only the licence group grants the application (after `seatgate setup`)."""
        check, group = f"{product.name}/cutover", product.license_group
        if product.kind == "jira":
            others = [g for g in seats.groups if g != group and g not in product.exclude_groups]
            if others:
                self.add(
                    check,
                    WARN,
                    f"{', '.join(others)} also grant{'s' if len(others) == 1 else ''} {product.app_role}: "
                    "their members hold a licence seatgate never floats",
                    f"seatgate setup --product {product.name} (plan; --apply to carry it out)",
                )
            else:
                self.add(check, OK, f"only {group!r} (and exclude_groups) grant {product.app_role}")
            return
        # Confluence says over REST how many users have Can use, not which groups: when the
        # licence counts more users than the licence group holds, another group grants it.
        members = len(await directory.members())
        if seats.used is not None and seats.used > members:
            self.add(
                check,
                WARN,
                f"{seats.used} users may use Confluence but {group!r} holds {members}: another group still has Can use",
                f"untick Can use for every group but {group!r} and exclude_groups (Global permissions; "
                f"seatgate setup --product {product.name} prints the steps)",
            )
        else:
            self.add(check, OK, f"Confluence counts {seats.used} users with Can use, all in {group!r}")

    async def _websudo(self, product: Any, directory: Any) -> None:
        """Jira's group add is @WebSudoRequired; try it on a group that cannot exist."""
        check = f"{product.name}/websudo"
        probe = f"seatgate-doctor-{secrets.token_hex(6)}"
        reply = await self._get(
            directory,
            "/rest/api/2/group/user",
            method="POST",
            params={"groupname": probe},
            json={"name": product.admin_user},
        )
        if reply.status == 404:
            self.add(check, OK, "group changes over REST are not held up by WebSudo")
        elif reply.status in (401, 403) and "websudo" in reply.excerpt(1000).lower():
            self.add(
                check,
                FAIL,
                f"Jira asks for a secure administrator session (WebSudo) before group changes "
                f"(HTTP {reply.status}): seatgate's Basic-auth calls cannot hold one",
                "disable WebSudo (jira.websudo.is.disabled = true in jira-config.properties, then restart) "
                "or exempt REST calls of the service account from it",
            )
        else:
            self.add(
                check,
                WARN,
                f"a harmless group change answered HTTP {reply.status} ({reply.excerpt()}), "
                "not 404: cannot tell whether WebSudo blocks group changes",
                "check that admin_user may change groups over REST (see group-access)",
            )

    async def _notifications(self, product: Any, directory: Any) -> None:
        check = f"{product.name}/notifications"
        fix = (
            f"enable the dark feature {DARK_FEATURE} (Jira 8.20.6+): open "
            f"{product.upstream}/secure/SiteDarkFeatures!default.jspa as an administrator and add it"
        )
        why = "users without a seat at that moment get no e-mail notifications (Jira 8.19+)"
        reply = await self._get(directory, "/secure/SiteDarkFeatures!default.jspa", params={"os_authType": "basic"})
        if reply.status == 200 and isinstance(reply.body, str) and "dark" in reply.body.lower():
            if DARK_FEATURE in reply.body:
                self.add(check, OK, "e-mail notifications to users without application access are on")
            else:
                self.add(check, WARN, f"the dark feature is not enabled: {why}", fix)
            return
        # Not readable over REST; the page may also be behind WebSudo or a login redirect.
        self.add(
            check,
            WARN,
            f"cannot read Jira's dark features (HTTP {reply.status}); unless {DARK_FEATURE} is enabled, {why}",
            fix,
        )


# -- command line -------------------------------------------------------------------------
def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="settings file (TOML); SEATGATE_* environment variables also apply")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def main(args: argparse.Namespace) -> int:
    from seatgate import logs
    from seatgate.settings import load_settings

    settings = load_settings(args.config)
    # The findings are the output; the clients' own log lines would only repeat them.
    logs.configure("error", "console")
    doctor = Doctor(settings)
    findings = asyncio.run(doctor.run())
    if args.json:
        print(json.dumps({"ok": not doctor.failed, "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for finding in findings:
            print(finding.line())
    return 1 if doctor.failed else 0
