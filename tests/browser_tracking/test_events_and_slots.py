"""inbound.js in headless Chromium: clicks and forms, the transport, and content slots.

The service is faked by request routing (tests/support/tracking_site.py), so these tests need
no database; the journey against the real service is in test_browser_tracking_journey.py.
"""

import json

from playwright.sync_api import expect

from tests.browser_tracking.helpers import CAMPAIGN, UUID
from tests.support.browser import needs_chromium
from tests.support.tracking_site import BEACON_SPY, HOST, KEY, SITE, TrackedSite, item, page_html

pytestmark = needs_chromium


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
