"""inbound.js in headless Chromium: what a site's pages send, store and show.

The service is faked by request routing (tests/support/tracking_site.py), so these tests need
no database; the journey against the real service is in test_browser_tracking_journey.py.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect

from tests.support.browser import needs_chromium
from tests.support.tracking_site import (
    BEACON_SPY,
    HOST,
    KEY,
    SITE,
    Event,
    TrackedSite,
    item,
    page_html,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CAMPAIGN = (
    "utm_source=linkedin&utm_medium=paid-social&utm_campaign=spring"
    "&utm_term=finops&utm_content=banner"
)
ANALYTICS_CONSENT = {"categoryPreferences": {"analytics": True}}
ANALYTICS_REFUSED = {"categoryPreferences": {"analytics": False}}
# The stub a site puts before the script tag, so that calls made before it loads are kept.
STUB = (
    "window.inbound = window.inbound || [];"
    "['page', 'track', 'identify', 'consent', 'refresh'].forEach(function (m) {"
    "  inbound[m] = inbound[m] || function () {"
    "    inbound.push([m].concat([].slice.call(arguments)));"
    "  };"
    "});"
)

pytestmark = needs_chromium


@pytest.fixture
def site(browser: Browser) -> Iterator[TrackedSite]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield TrackedSite(context)
    context.close()


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestPageView:
    def test_page_view_on_load_has_the_segment_shape(self, site: TrackedSite) -> None:
        head = '<meta name="inbound:asset" content="cloud-cost-guide-2026">'
        site.open(f"/guide?{CAMPAIGN}", page_html(head=head))

        [view] = site.wait_for_events(1, "page")

        [body] = site.batches
        assert body["writeKey"] == KEY
        assert iso(body["sentAt"]) >= iso(view["timestamp"])
        assert iso(view["timestamp"]).tzinfo == UTC
        assert UUID.match(view["messageId"])
        assert UUID.match(view["anonymousId"])
        assert view["anonymousId"] == site.stored()["local"]["inbound_anonymous_id"]
        assert "userId" not in view
        url = f"{SITE}/guide?{CAMPAIGN}"
        assert view["properties"] == {
            "url": url,
            "path": "/guide",
            "referrer": "",
            "title": "The Cloud Cost Guide",
            "search": f"?{CAMPAIGN}",
            "asset": "cloud-cost-guide-2026",
        }
        context = view["context"]
        assert context["campaign"] == {
            "source": "linkedin",
            "medium": "paid-social",
            "name": "spring",
            "term": "finops",
            "content": "banner",
        }
        assert context["page"]["url"] == url
        assert context["library"] == {"name": "inbound.js", "version": "1.0.0"}
        assert context["consent"] == ANALYTICS_CONSENT  # the service keeps the ids
        assert "gpc" not in context
        assert context["userAgent"] == site.page.evaluate("navigator.userAgent")
        assert context["locale"] == site.page.evaluate("navigator.language")
        # A simple request: no CORS preflight before each batch.
        assert site.batch_content_types == ["text/plain;charset=UTF-8"]

    def test_single_page_moves_are_page_views_with_the_previous_address_as_referrer(
        self, site: TrackedSite
    ) -> None:
        site.open("/", page_html())
        site.wait_for_events(1, "page")

        site.page.evaluate("history.pushState({}, '', '/pricing?plan=team')")
        site.page.evaluate("history.pushState({}, '', '/pricing?plan=team#faq')")  # same page
        site.wait_for_events(2, "page")
        site.page.go_back()  # to the same page: no view
        site.page.go_back()
        views = site.wait_for_events(3, "page")

        paths = [(v["properties"]["path"], v["properties"]["search"]) for v in views]
        assert paths == [("/", ""), ("/pricing", "?plan=team"), ("/", "")]
        assert views[1]["properties"]["referrer"] == f"{SITE}/"
        assert views[2]["properties"]["referrer"] == f"{SITE}/pricing?plan=team"
        site.page.wait_for_timeout(300)
        assert len(site.events("page")) == 3  # hash-only moves are no page views

    def test_a_failed_batch_is_sent_again_with_the_same_message_ids(
        self, site: TrackedSite
    ) -> None:
        site.failures_left = 1
        site.open("/", page_html())
        site.page.evaluate("inbound.track('Pricing Viewed', {plan: 'team'})")

        events = site.wait_for_events(2)

        assert site.timeline[:2] == ["batch", "batch"]  # refused once, then accepted
        [refused] = site.refused
        resent = [e["messageId"] for e in events]
        assert [e["messageId"] for e in refused["batch"]] == resent[: len(refused["batch"])]
        assert refused["sentAt"] != site.batches[0]["sentAt"]  # set again at each send
        assert [e["type"] for e in events] == ["page", "track"]

    def test_without_a_key_nothing_is_sent(self, site: TrackedSite) -> None:
        html = page_html().replace(f' data-key="{KEY}"', "")
        site.open("/", html)
        site.page.evaluate("inbound.track('Anything')")
        site.page.wait_for_timeout(1500)
        assert site.batches == []
        assert site.timeline == []


def assert_kept_by_nobody(events: list[Event], site: TrackedSite) -> None:
    """Events the service must store cookieless: one id for the page load, kept nowhere, and
    no consent said (or a refusal); the id Segment's format asks for is then dropped by the
    service, and no user id is sent."""
    assert len({e["anonymousId"] for e in events}) == 1
    assert all(UUID.match(e["anonymousId"]) for e in events)
    assert all(e["context"].get("consent", ANALYTICS_REFUSED) == ANALYTICS_REFUSED for e in events)
    assert all("userId" not in e for e in events)
    assert events[0]["anonymousId"] not in json.dumps(site.stored())


class TestConsent:
    def test_required_mode_stores_no_id_before_consent_and_forgets_it_after_a_refusal(
        self, site: TrackedSite
    ) -> None:
        site.open("/", page_html(consent="required"))
        before = site.wait_for_events(1, "page")
        assert_kept_by_nobody(before, site)
        assert site.stored() == {"local": {}, "cookie": ""}
        assert site.page.evaluate("inbound.anonymousId()") is None

        site.page.evaluate("inbound.consent(true)")
        visitor = site.page.evaluate("inbound.anonymousId()")
        assert UUID.match(visitor)
        assert visitor != before[0]["anonymousId"]
        stored = site.stored()
        assert stored["local"]["inbound_anonymous_id"] == visitor
        assert stored["cookie"] == f"inbound_aid={visitor}"
        site.page.reload()  # the choice is remembered on the next page
        views = site.wait_for_events(2, "page")
        assert views[1]["anonymousId"] == visitor
        assert views[1]["context"]["consent"] == ANALYTICS_CONSENT

        site.page.evaluate("inbound.consent(false)")
        site.page.evaluate("inbound.track('After Refusal')")
        after = site.wait_for_events(1, "track", "After Refusal")
        assert_kept_by_nobody(after, site)
        assert after[0]["anonymousId"] != visitor
        assert site.stored() == {"local": {"inbound_consent": "denied"}, "cookie": ""}

    def test_a_refusal_in_granted_mode_is_said_and_sends_no_user_id(
        self, site: TrackedSite
    ) -> None:
        site.open("/", page_html(consent="granted"))
        site.wait_for_events(1, "page")
        site.page.evaluate("inbound.consent(false)")
        site.page.evaluate("inbound.identify('user-42')")
        site.page.evaluate("inbound.track('After Refusal')")

        after = site.wait_for_events(1, "track", "After Refusal")

        assert_kept_by_nobody(after, site)
        assert after[0]["context"]["consent"] == ANALYTICS_REFUSED
        assert "inbound_user_id" not in site.stored()["local"]

    def test_cookieless_mode_never_stores_anything(self, site: TrackedSite) -> None:
        site.open("/", page_html(consent="cookieless"))
        site.page.evaluate("inbound.consent(true)")
        site.page.evaluate("inbound.identify('dana@example.com')")
        site.page.evaluate("inbound.track('Clicked')")

        events = site.wait_for_events(3)

        assert_kept_by_nobody(events, site)
        assert site.stored() == {"local": {}, "cookie": ""}
        assert site.page.evaluate("inbound.anonymousId()") is None
        site.page.reload()
        views = site.wait_for_events(2, "page")
        assert views[1]["anonymousId"] != views[0]["anonymousId"]  # a new one each page load

    @pytest.mark.parametrize("mode", ["granted", "required"])
    def test_global_privacy_control_is_honoured(self, site: TrackedSite, mode: str) -> None:
        site.context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
        )
        site.open("/", page_html(consent=mode))
        site.page.evaluate("inbound.consent(true)")
        site.page.evaluate("inbound.track('Clicked')")

        events = site.wait_for_events(2)

        assert_kept_by_nobody(events, site)
        assert all(e["context"]["gpc"] is True for e in events)
        assert site.stored() == {"local": {}, "cookie": ""}

    def test_an_id_left_from_before_is_dropped_in_cookieless_mode(self, site: TrackedSite) -> None:
        site.open("/", page_html(consent="granted"))
        [first] = site.wait_for_events(1, "page")
        assert site.stored()["local"]["inbound_anonymous_id"] == first["anonymousId"]

        site.open("/other", page_html(consent="cookieless"))
        views = site.wait_for_events(2, "page")

        assert_kept_by_nobody(views[1:], site)
        assert views[1]["anonymousId"] != first["anonymousId"]
        assert site.stored() == {"local": {}, "cookie": ""}

    def test_a_kept_id_is_reused_and_one_the_service_would_refuse_is_replaced(
        self, site: TrackedSite
    ) -> None:
        site.open("/", page_html())
        [first] = site.wait_for_events(1, "page")
        site.page.reload()
        again = site.wait_for_events(2, "page")
        assert again[1]["anonymousId"] == first["anonymousId"]

        site.page.evaluate("localStorage.setItem('inbound_anonymous_id', 'edited by hand!')")
        site.page.evaluate("document.cookie = 'inbound_aid=; max-age=0; path=/'")
        site.page.reload()

        views = site.wait_for_events(3, "page")
        assert UUID.match(views[2]["anonymousId"])
        assert site.stored()["local"]["inbound_anonymous_id"] == views[2]["anonymousId"]


class TestQueuedCalls:
    def test_calls_made_before_the_script_loaded_are_replayed_in_order(
        self, site: TrackedSite
    ) -> None:
        before = STUB + (
            "inbound.consent(true);"
            "inbound.track('Signed Up', {plan: 'team'});"
            "inbound.identify('user-42', {plan: 'team'});"
        )
        site.open("/", page_html(consent="required", before=before))

        events = site.wait_for_events(3)

        assert [e["type"] for e in events] == ["track", "identify", "page"]
        assert events[0]["properties"] == {"plan": "team"}
        assert events[1]["userId"] == "user-42"
        assert events[1]["traits"] == {"plan": "team"}
        visitor = site.page.evaluate("inbound.anonymousId()")
        assert {e["anonymousId"] for e in events} == {visitor}  # consent came first
        assert events[2]["userId"] == "user-42"
        site.page.wait_for_timeout(1200)
        assert len(site.events("page")) == 1

    def test_a_queued_page_call_replaces_the_automatic_one(self, site: TrackedSite) -> None:
        site.open("/", page_html(before=STUB + "inbound.page('Home', {section: 'top'});"))

        [view] = site.wait_for_events(1, "page")

        assert view["name"] == "Home"
        assert view["properties"]["section"] == "top"
        site.page.wait_for_timeout(1200)
        assert len(site.events("page")) == 1

    def test_an_email_identifies_through_traits(self, site: TrackedSite) -> None:
        site.open("/", page_html())
        site.page.evaluate("inbound.identify(' dana@example.com ', {company: 'Acme'})")

        [identify] = site.wait_for_events(1, "identify")

        assert identify["traits"] == {"company": "Acme", "email": "dana@example.com"}
        assert "userId" not in identify
        assert identify["anonymousId"] == site.page.evaluate("inbound.anonymousId()")


class TestClicksAndForms:
    def test_clicks_on_tagged_links_are_tracked(self, site: TrackedSite) -> None:
        body = (
            '<a id="tagged" href="#pricing" data-inbound-asset="pricing-guide">Pricing</a>'
            '<a id="plain" href="#about">About</a>'
        )
        site.open("/", page_html(body=body))
        site.page.click("#plain")
        site.page.click("#tagged")

        [click] = site.wait_for_events(1, "track", "Content Clicked")

        assert click["properties"] == {"asset": "pricing-guide"}
        assert len(site.events("track")) == 1

    def test_lead_forms_get_the_visitor_id_and_the_campaign(self, site: TrackedSite) -> None:
        body = f"""
          <form id="capture" action="{HOST}/api/v1/captures" method="post">
            <input type="hidden" name="utm_source" value="kept">
          </form>
          <form id="tagged" data-inbound-form action="/subscribe"></form>
          <form id="search" action="/search"></form>"""
        site.open(f"/?{CAMPAIGN}", page_html(consent="required", body=body))
        site.wait_for_events(1, "page")
        expect(site.page.locator("#capture input[name=utm_medium]")).to_have_value("paid-social")
        assert site.page.locator("#capture input[name=visitor_id]").count() == 0  # no consent

        site.page.evaluate("inbound.consent(true)")

        visitor = site.page.evaluate("inbound.anonymousId()")
        for form in ("#capture", "#tagged"):
            expect(site.page.locator(f"{form} input[name=visitor_id]")).to_have_value(visitor)
            expect(site.page.locator(f"{form} input[name=utm_campaign]")).to_have_value("spring")
            expect(site.page.locator(f"{form} input[name=utm_term]")).to_have_value("finops")
        expect(site.page.locator("#capture input[name=utm_source]")).to_have_value("kept")
        assert site.page.locator("#search input").count() == 0
        site.page.evaluate("inbound.consent(false)")
        assert site.page.locator("#capture input[name=visitor_id]").count() == 0

    def test_events_left_when_the_page_goes_away_leave_by_beacon(self, site: TrackedSite) -> None:
        site.context.add_init_script(BEACON_SPY)
        body = '<a id="next" href="/next-page" data-inbound-asset="case-study">Read on</a>'
        site.open("/", page_html(body=body))
        site.wait_for_events(1, "page")
        site.pages["/next-page"] = page_html()

        site.page.click("#next")  # queued, then the page is gone before the next flush
        site.page.wait_for_url(f"{SITE}/next-page")

        [beacon] = site.beacons()
        assert beacon["url"] == f"{HOST}/api/v1/batch"
        assert beacon["type"] == "text/plain"
        sent = json.loads(beacon["text"])
        assert sent["writeKey"] == KEY
        [click] = sent["batch"]
        assert click["event"] == "Content Clicked"
        assert click["properties"] == {"asset": "case-study"}
        assert click["context"]["page"]["path"] == "/"
        assert not site.events("track", "Content Clicked")  # not sent twice


class TestTransport:
    def test_at_most_100_events_go_in_one_batch_and_none_is_lost(self, site: TrackedSite) -> None:
        site.open("/", page_html())
        site.wait_for_events(1, "page")

        site.page.evaluate("for (let n = 0; n < 250; n++) inbound.track('Scrolled', {n})")

        events = site.wait_for_events(250, "track", "Scrolled")
        assert [e["properties"]["n"] for e in events] == list(range(250))
        assert max(len(b["batch"]) for b in site.batches) == 100
        ids = [e["messageId"] for e in site.events()]
        assert len(ids) == len(set(ids))

    def test_a_hidden_page_sends_at_once_by_beacon(self, site: TrackedSite) -> None:
        site.context.add_init_script(BEACON_SPY)
        site.open("/", page_html())
        site.wait_for_events(1, "page")

        site.page.evaluate(
            "inbound.track('Tab Left');"
            "Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )

        [beacon] = site.beacons()
        assert [e["event"] for e in json.loads(beacon["text"])["batch"]] == ["Tab Left"]

    def test_a_refused_beacon_falls_back_to_fetch(self, site: TrackedSite) -> None:
        site.context.add_init_script(
            "navigator.sendBeacon = () => false;"
            "const nativeFetch = window.fetch; window.fetched = [];"
            "window.fetch = (url, init) => {"
            "  window.fetched.push({url: String(url), keepalive: init.keepalive, body: init.body});"
            "  return nativeFetch(url, init);"
            "};"
        )
        site.open("/", page_html())
        site.wait_for_events(1, "page")

        # Sent while the page goes away, not by the next second's flush.
        fetched = site.page.evaluate(
            "inbound.track('Tab Left'); window.fetched = [];"
            "dispatchEvent(new Event('pagehide')); window.fetched"
        )

        [call] = fetched
        assert call["url"] == f"{HOST}/api/v1/batch"
        assert call["keepalive"] is True
        assert [e["event"] for e in json.loads(call["body"])["batch"]] == ["Tab Left"]
        site.wait_for_events(1, "track", "Tab Left")  # and it arrived

    def test_ids_are_version_4_uuids_without_crypto_random_uuid(self, site: TrackedSite) -> None:
        # randomUUID exists only in secure contexts; a site on plain http has none.
        site.context.add_init_script("delete Crypto.prototype.randomUUID")
        site.open("/", page_html())
        site.page.evaluate("inbound.track('One'); inbound.track('Two')")

        events = site.wait_for_events(3)

        assert site.page.evaluate("typeof crypto.randomUUID") == "undefined"
        for value in [e["messageId"] for e in events] + [events[0]["anonymousId"]]:
            assert UUID.match(value), value
        assert len({e["messageId"] for e in events}) == 3


class TestSlots:
    def test_slot_is_filled_with_text_never_html_and_impressions_and_clicks_are_sent(
        self, site: TrackedSite
    ) -> None:
        evil = '<img src="x" onerror="window.hacked = true">'
        site.recommendations = [
            [
                item("cost-checklist", evil, reason="<b>Read by people like you</b>"),
                item("bad-link", "Not a link", url="javascript:window.hacked = true"),
            ]
        ]
        body = '<aside id="slot" data-inbound-slot="sidebar" data-inbound-k="2">Loading</aside>'
        head = '<meta name="inbound:asset" content="cloud-cost-guide-2026">'
        site.open("/", page_html(head=head, body=body))

        links = site.page.locator("#slot a")
        expect(links).to_have_count(1)
        expect(links).to_have_text(evil)
        expect(links).to_have_attribute("href", f"{SITE}/cost-checklist")
        expect(site.page.locator("#slot small").first).to_have_text(
            "<b>Read by people like you</b>"
        )
        expect(site.page.locator("#slot span")).to_have_text("Not a link")
        assert site.page.locator("#slot img, #slot b").count() == 0
        site.page.wait_for_timeout(200)
        assert site.page.evaluate("window.hacked") is None
        [query] = site.next_queries
        assert query == {
            "anonymous_id": [site.page.evaluate("inbound.anonymousId()")],
            "asset": ["cloud-cost-guide-2026"],  # the page's own: not suggested again
            "slot": ["sidebar"],
            "k": ["2"],
        }
        assert site.next_authorizations == [f"Bearer {KEY}"]
        [shown] = site.wait_for_events(1, "track", "Recommendation Shown")
        assert shown["properties"] == {"slot": "sidebar", "assets": ["cost-checklist", "bad-link"]}

        site.page.evaluate(
            "document.querySelector('#slot a').addEventListener('click', e => e.preventDefault())"
        )
        links.click()

        [clicked] = site.wait_for_events(1, "track", "Recommendation Clicked")
        assert clicked["properties"] == {"slot": "sidebar", "asset": "cost-checklist"}
        [content] = site.events("track", "Content Clicked")
        assert content["properties"] == {"asset": "cost-checklist", "slot": "sidebar"}

    def test_slot_refreshes_after_a_new_page_view_which_reaches_the_service_first(
        self, site: TrackedSite
    ) -> None:
        site.recommendations = [
            [item("cloud-basics", "Cloud basics")],
            [item("finops-case-study", "How Acme cut its bill")],
        ]
        site.open("/", page_html(body='<div id="slot" data-inbound-slot="next-read"></div>'))
        expect(site.page.locator("#slot a")).to_have_text("Cloud basics")

        site.page.evaluate("history.pushState({}, '', '/blog/finops')")

        expect(site.page.locator("#slot a")).to_have_text("How Acme cut its bill")
        assert site.timeline[:2] == ["batch", "next"]
        second_view = site.timeline.index("next", 2)
        assert site.timeline[second_view - 1] == "batch"  # the view went out before the ask
        assert site.events("page")[1]["properties"]["path"] == "/blog/finops"
        assert [q["k"] for q in site.next_queries] == [["3"], ["3"]]

    def test_refresh_fills_again_and_a_cookieless_slot_asks_without_an_id(
        self, site: TrackedSite
    ) -> None:
        site.recommendations = [[], [item("cloud-basics", "Cloud basics")]]
        body = '<div id="slot" data-inbound-slot="footer"><p>Our latest posts</p></div>'
        site.open("/", page_html(consent="cookieless", body=body))
        site.until(lambda: len(site.next_queries) == 1, "the first ask")
        expect(site.page.locator("#slot p")).to_have_text("Our latest posts")  # nothing to show

        site.page.evaluate("inbound.refresh()")

        expect(site.page.locator("#slot a")).to_have_text("Cloud basics")
        assert all("anonymous_id" not in q for q in site.next_queries)

    def test_a_slot_keeps_its_content_when_the_service_fails(self, site: TrackedSite) -> None:
        site.context.route(f"{HOST}/api/v1/next?**", lambda route: route.abort("connectionrefused"))
        site.open("/", page_html(body='<div id="slot" data-inbound-slot="x"><p>Fallback</p></div>'))
        site.wait_for_events(1, "page")
        site.page.wait_for_timeout(300)
        expect(site.page.locator("#slot p")).to_have_text("Fallback")
        assert not site.events("track", "Recommendation Shown")
