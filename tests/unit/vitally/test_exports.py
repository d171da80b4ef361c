import vitally


def test_all_is_sorted_and_every_name_exists() -> None:
    assert vitally.__all__ == sorted(vitally.__all__)
    missing = [name for name in vitally.__all__ if not hasattr(vitally, name)]
    assert missing == []
