"""What the synthetic history is about: a site, its personas and its content.

Each persona comes with the job titles its people hold (its rules recognise them), how well
its leads convert at each stage and how fast, so that reports show personas that differ.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PersonaProfile:
    slug: str
    name: str
    goals: tuple[str, ...]
    pain_points: tuple[str, ...]
    titles: tuple[str, ...]  # what its people write as job title; its rules match them
    share: float  # of all contacts
    # Chance of each move onward from lead: mql, sql, opportunity, customer, evangelist.
    onward: tuple[float, float, float, float, float]
    median_days: float  # typical time from one stage to the next


PERSONAS = (
    PersonaProfile(
        slug="it-director",
        name="IT Director",
        goals=("Keep cloud spend predictable", "Consolidate vendors"),
        pain_points=("Surprise invoices", "Shadow IT"),
        titles=("IT Director", "Director of IT", "Head of IT", "VP Infrastructure"),
        share=0.28,
        onward=(0.42, 0.45, 0.55, 0.48, 0.15),
        median_days=9.0,
    ),
    PersonaProfile(
        slug="developer",
        name="Developer",
        goals=("Ship without waiting on ops", "Automate the boring parts"),
        pain_points=("Slow environments", "Tickets for everything"),
        titles=("Software Engineer", "Backend Developer", "DevOps Engineer", "Platform Engineer"),
        share=0.32,
        onward=(0.30, 0.22, 0.40, 0.35, 0.25),
        median_days=5.0,
    ),
    PersonaProfile(
        slug="cfo",
        name="CFO",
        goals=("Cut costs without cutting corners", "Forecast spend"),
        pain_points=("Unclear ROI", "Budget overruns"),
        titles=("CFO", "Chief Financial Officer", "VP Finance", "Finance Director"),
        share=0.14,
        onward=(0.50, 0.55, 0.60, 0.55, 0.08),
        median_days=16.0,
    ),
    PersonaProfile(
        slug="marketing-ops",
        name="Marketing Ops",
        goals=("Prove marketing's pipeline", "Clean data"),
        pain_points=("Leads lost between tools", "Manual reports"),
        titles=("Marketing Operations Manager", "Marketing Ops Lead", "Growth Marketer"),
        share=0.16,
        onward=(0.36, 0.30, 0.45, 0.40, 0.20),
        median_days=7.0,
    ),
)
# Contacts no persona recognises: they convert least.
UNMATCHED_TITLES = ("Student", "Consultant", "Office Manager", "Chef", "Teacher")
UNMATCHED_ONWARD = (0.12, 0.15, 0.30, 0.30, 0.05)
UNMATCHED_MEDIAN_DAYS = 12.0


@dataclass(frozen=True, slots=True)
class AssetProfile:
    slug: str
    title: str
    kind: str
    funnel_stage: str  # attract, convert, close, delight
    gated: bool
    relevance: dict[str, int]  # persona slug -> 1..3
    topics: tuple[str, ...] = ()


ASSETS = (
    AssetProfile("cloud-cost-guide", "The Cloud Cost Guide", "ebook", "convert", True,
                 {"it-director": 3, "cfo": 3}, ("cloud costs",)),
    AssetProfile("finops-checklist", "FinOps Checklist", "checklist", "convert", True,
                 {"cfo": 3, "it-director": 2}, ("finops",)),
    AssetProfile("platform-playbook", "Platform Engineering Playbook", "whitepaper", "convert",
                 True, {"developer": 3, "it-director": 2}, ("platform engineering",)),
    AssetProfile("ci-speed-webinar", "Faster CI, Live", "webinar", "convert", True,
                 {"developer": 3}, ("ci/cd",)),
    AssetProfile("pipeline-report", "State of B2B Pipeline 2026", "report", "convert", True,
                 {"marketing-ops": 3, "cfo": 1}, ("pipeline",)),
    AssetProfile("attribution-template", "Attribution Model Template", "template", "convert",
                 True, {"marketing-ops": 3}, ("attribution",)),
    AssetProfile("acme-case-study", "How Acme Halved Its Cloud Bill", "case_study", "close",
                 True, {"it-director": 3, "cfo": 2}, ("cloud costs",)),
    AssetProfile("product-demo", "Product Demo", "demo", "close", True,
                 {"it-director": 2, "developer": 2, "marketing-ops": 2}),
    AssetProfile("free-trial", "14-day Free Trial", "trial", "close", True,
                 {"developer": 3, "it-director": 1}),
    AssetProfile("weekly-newsletter", "The Weekly Cost Letter", "newsletter", "attract", True,
                 {"cfo": 1, "it-director": 1, "developer": 1, "marketing-ops": 1}),
    AssetProfile("onboarding-course", "Onboarding Course", "course", "delight", True,
                 {"it-director": 1, "developer": 2}),
    AssetProfile("roi-calculator", "ROI Calculator", "tool", "convert", True,
                 {"cfo": 3, "marketing-ops": 1}, ("roi",)),
    # Open blog posts: what visitors read before they give an email, and between captures.
    AssetProfile("cloud-bill-surprises", "Five Surprises on Your Cloud Bill", "blog_post",
                 "attract", False, {"it-director": 3, "cfo": 2}, ("cloud costs",)),
    AssetProfile("finops-101", "FinOps in Plain Words", "blog_post", "attract", False,
                 {"cfo": 3, "it-director": 1}, ("finops",)),
    AssetProfile("platform-team-90-days", "A Platform Team's First 90 Days", "blog_post",
                 "attract", False, {"developer": 3, "it-director": 2}, ("platform engineering",)),
    AssetProfile("flaky-ci-tests", "Taming Flaky CI Tests", "blog_post", "attract", False,
                 {"developer": 3}, ("ci/cd",)),
    AssetProfile("pipeline-metrics", "Pipeline Metrics That Matter", "blog_post", "attract",
                 False, {"marketing-ops": 3, "cfo": 1}, ("pipeline",)),
    AssetProfile("attribution-explained", "Multi-touch Attribution, Explained", "blog_post",
                 "attract", False, {"marketing-ops": 3}, ("attribution",)),
    AssetProfile("kubernetes-cost-allocation", "Who Pays for the Cluster?", "blog_post",
                 "attract", False, {"developer": 2, "it-director": 2},
                 ("cloud costs", "platform engineering")),
    AssetProfile("automation-roi", "The ROI of Automation", "blog_post", "attract", False,
                 {"cfo": 2, "it-director": 1, "marketing-ops": 1}, ("roi",)),
)  # fmt: skip

# What readers of an asset often read next, likeliest first: the structure co-visitation
# counts should find (the demo's behaviour follows these links part of the time).
READ_NEXT = {
    "cloud-bill-surprises": ("cloud-cost-guide", "kubernetes-cost-allocation", "finops-101"),
    "finops-101": ("finops-checklist", "roi-calculator", "cloud-bill-surprises"),
    "platform-team-90-days": ("platform-playbook", "flaky-ci-tests"),
    "flaky-ci-tests": ("ci-speed-webinar", "platform-team-90-days"),
    "pipeline-metrics": ("pipeline-report", "attribution-explained"),
    "attribution-explained": ("attribution-template", "pipeline-metrics"),
    "kubernetes-cost-allocation": ("platform-playbook", "cloud-cost-guide"),
    "automation-roi": ("roi-calculator", "finops-101"),
    "cloud-cost-guide": ("acme-case-study", "finops-checklist"),
    "finops-checklist": ("roi-calculator", "acme-case-study"),
    "platform-playbook": ("free-trial", "product-demo"),
    "ci-speed-webinar": ("free-trial", "platform-playbook"),
    "pipeline-report": ("attribution-template", "product-demo"),
    "attribution-template": ("product-demo", "pipeline-report"),
    "roi-calculator": ("acme-case-study", "product-demo"),
    "acme-case-study": ("product-demo", "free-trial"),
    "product-demo": ("free-trial", "onboarding-course"),
    "free-trial": ("onboarding-course",),
    "weekly-newsletter": ("cloud-bill-surprises", "finops-101"),
    "onboarding-course": ("platform-playbook",),
}
# Pages that are not content: the home page, pricing.
PAGES = (("/", "Home"), ("/pricing", "Pricing"), ("/about", "About us"))

# (utm_source, utm_medium, share)
SOURCES = (
    ("google", "cpc", 0.30),
    ("linkedin", "social", 0.22),
    ("newsletter", "email", 0.14),
    ("partner-blog", "referral", 0.09),
    (None, None, 0.25),  # direct or organic: no UTM at all
)
COUNTRIES = ("US", "DE", "GB", "FR", "NL", "BR", "IN", "CA", "ES", "SE")
INDUSTRIES = ("Software", "Finance", "Retail", "Healthcare", "Manufacturing", "Media")
FIRST_NAMES = (
    "Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena",
    "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tomás",
)  # fmt: skip
LAST_NAMES = (
    "Lima", "Meyer", "Okafor", "Novak", "Reyes", "Smith", "Tanaka", "Weber", "Khan", "Rossi",
    "Dubois", "Silva", "Kowalski", "Nguyen", "Haddad",
)  # fmt: skip
COMPANIES = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka",
    "Tyrell", "Cyberdyne", "Soylent", "Aperture", "Massive", "Nakatomi",
)  # fmt: skip
SITE_ORIGIN = "https://www.example.com"


def asset_url(asset: AssetProfile) -> str:
    """The asset's public page: a blog post's article, a gated asset's landing page."""
    folder = "blog" if asset.kind == "blog_post" else "resources"
    return f"{SITE_ORIGIN}/{folder}/{asset.slug}"
