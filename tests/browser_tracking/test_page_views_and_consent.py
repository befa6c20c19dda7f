"""inbound.js in headless Chromium: page views, consent and the calls queued before it loads.

The service is faked by request routing (tests/support/tracking_site.py), so these tests need
no database; the journey against the real service is in test_browser_tracking_journey.py.
"""

import json
from datetime import UTC, datetime

import pytest

from tests.browser_tracking.helpers import CAMPAIGN, UUID
from tests.support.browser import needs_chromium
from tests.support.tracking_site import KEY, SITE, Event, TrackedSite, page_html

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
