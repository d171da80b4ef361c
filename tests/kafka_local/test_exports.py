import kafka_local


def test_all_is_sorted_and_importable() -> None:
    assert kafka_local.__all__ == sorted(kafka_local.__all__)
    for name in kafka_local.__all__:
        assert hasattr(kafka_local, name)
