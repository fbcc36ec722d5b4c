import pytest
from django.utils import timezone

from snapshots.models import Container

from .conftest import count_queries, grow, htmx

pytestmark = pytest.mark.django_db


def test_it_finds_a_container_by_part_of_its_name_on_any_host(as_vic, fleet):
    content = as_vic.get("/search/?q=-1").content.decode()
    assert "web-1" in content and "db-1" in content and "cache-1" in content
    assert '<a href="/hosts/beta/">beta</a>' in content


def test_it_finds_a_container_by_the_start_of_its_id(as_vic, fleet):
    content = as_vic.get(f"/search/?q={fleet.cache.engine_id[:10]}").content.decode()
    assert "cache-1" in content and "web-1" not in content


def test_removed_containers_come_last_and_are_marked(as_vic, fleet):
    Container.objects.filter(pk=fleet.db.pk).update(gone_at=timezone.now())
    content = as_vic.get("/search/?q=-1").content.decode()
    assert content.index("web-1") < content.index("db-1") and "removed" in content


def test_no_match_says_so(as_vic, fleet):
    assert "No container matches" in as_vic.get("/search/?q=zzz").content.decode()


def test_the_live_search_gets_only_the_results(as_vic, fleet):
    content = as_vic.get("/search/?q=web", **htmx("search-results")).content.decode()
    assert content.lstrip().startswith('<section id="search-results"')


def test_its_query_count_does_not_grow_with_the_data(as_vic, fleet):
    small = count_queries(as_vic, "/search/?q=e")
    grow(fleet, containers=120)
    assert count_queries(as_vic, "/search/?q=e") == small <= 5
