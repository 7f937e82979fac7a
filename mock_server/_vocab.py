"""Word lists for realistic values, built once per process with a seeded Faker.

Faker is slow (about a millisecond per value) and its output depends on call order, so the mock
never calls it while answering a request. Instead ``vocabulary()`` asks a Faker seeded with a
constant for a few hundred values of each kind, once, and generation picks from these tuples with
``rng_for(seed, ...)``. The lists are the same in every process, so the world stays a pure
function of ``(seed, ids)``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

T = TypeVar("T")

_FAKER_SEED = 0
_SIZE = 200

SLACK_CHANNELS: tuple[str, ...] = (
    "#alerts", "#soc-triage", "#incidents", "#deployments", "#oncall", "#platform-eng",
    "#security-ops", "#data-pipeline", "#growth", "#sales-leads", "#customer-success",
    "#release-train", "#sre", "#observability", "#ml-experiments", "#general",
)  # fmt: skip
INDICES: tuple[str, ...] = (
    "logs-*", "metrics-*", ".alerts-security.alerts-default", "traces-apm-*", "filebeat-*",
    "logs-endpoint.events.process-*", "logs-nginx.access-*", "metrics-system.cpu-*",
    "auditbeat-*", "packetbeat-*", "logs-aws.cloudtrail-*", "logs-okta.system-*",
)  # fmt: skip
HOSTS: tuple[str, ...] = (
    "web-01", "web-02", "api-gw-1", "db-primary", "db-replica-2", "worker-7", "edge-eu-1",
    "k8s-node-12", "bastion", "ci-runner-3", "cache-01", "search-03",
)  # fmt: skip
LLM_MODELS: tuple[str, ...] = (
    "gpt-4.1", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "elastic-llm", "llama-3.3-70b",
)  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """Tuples of realistic values; pick from them with a seeded ``random.Random``."""

    first_names: tuple[str, ...]
    full_names: tuple[str, ...]
    usernames: tuple[str, ...]
    emails: tuple[str, ...]
    companies: tuple[str, ...]
    job_titles: tuple[str, ...]
    cities: tuple[str, ...]
    domains: tuple[str, ...]
    urls: tuple[str, ...]
    words: tuple[str, ...]
    sentences: tuple[str, ...]
    paragraphs: tuple[str, ...]
    post_texts: tuple[str, ...]
    """Short LinkedIn-like posts."""
    ipv4: tuple[str, ...]
    slack_channels: tuple[str, ...] = SLACK_CHANNELS
    indices: tuple[str, ...] = INDICES
    hosts: tuple[str, ...] = HOSTS
    llm_models: tuple[str, ...] = LLM_MODELS


def pick(rng: random.Random, values: Sequence[T]) -> T:
    """One value of ``values`` chosen by ``rng`` (cheaper than ``rng.choice`` for tuples)."""
    return values[int(rng.random() * len(values))]


def slug(text: str) -> str:
    """``"Acme Corp, Inc."`` -> ``"acme-corp-inc"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


@cache
def vocabulary() -> Vocabulary:
    """The process-wide vocabulary (built on first use, about 0.2 s, then shared)."""
    from faker import Faker  # Imported here: Faker is heavy and only this function needs it.

    fake = Faker("en_US")
    fake.seed_instance(_FAKER_SEED)
    first = [fake.first_name() for _ in range(_SIZE)]
    last = [fake.last_name() for _ in range(_SIZE)]
    full = [f"{f} {last[i]}" for i, f in enumerate(first)]
    usernames = [f"{f.lower()}.{last[i].lower()}" for i, f in enumerate(first)]
    domains = _unique([fake.domain_name() for _ in range(_SIZE)])
    emails = [f"{u}@{domains[i % len(domains)]}" for i, u in enumerate(usernames)]
    companies = _unique([fake.company() for _ in range(_SIZE)])
    sentences = [fake.sentence(nb_words=10) for _ in range(_SIZE)]
    paragraphs = [fake.paragraph(nb_sentences=4) for _ in range(_SIZE // 2)]
    posts = [
        f"{fake.catch_phrase()}. {fake.paragraph(nb_sentences=3)} #{fake.word()} #{fake.word()}"
        for _ in range(_SIZE)
    ]
    return Vocabulary(
        first_names=_unique(first),
        full_names=_unique(full),
        usernames=_unique(usernames),
        emails=_unique(emails),
        companies=companies,
        job_titles=_unique([fake.job() for _ in range(_SIZE)]),
        cities=_unique([fake.city() for _ in range(_SIZE)]),
        domains=domains,
        urls=_unique([fake.url() + fake.uri_path() for _ in range(_SIZE)]),
        words=_unique([fake.word() for _ in range(_SIZE * 2)]),
        sentences=_unique(sentences),
        paragraphs=_unique(paragraphs),
        post_texts=_unique(posts),
        ipv4=_unique([fake.ipv4_public() for _ in range(_SIZE)]),
    )
