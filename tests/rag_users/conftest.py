import pytest

from assets.rag.users.users_server import UsersServer


@pytest.fixture
def users_server():
    with UsersServer(api_key="k") as server:
        yield server
