from switchyard.health.breaker import CircuitBreaker


def test_opens_after_threshold_and_half_opens_after_cooldown():
    b = CircuitBreaker(threshold=3, cooldown=10, max_cooldown=60)
    for t in range(2):
        b.failure(float(t))
        assert b.allow(float(t)) and b.state == "closed"
    b.failure(2.0)
    assert b.state == "open" and not b.allow(5.0)
    assert b.retry_in(5.0) == 7.0
    assert b.allow(12.0) and b.state == "half_open"  # one trial
    assert not b.allow(12.5)  # only one at a time
    b.success()
    assert b.state == "closed" and b.allow(13.0)


def test_failed_trial_doubles_cooldown_up_to_cap():
    b = CircuitBreaker(threshold=1, cooldown=10, max_cooldown=25)
    b.failure(0.0)
    assert b.allow(10.0)
    b.failure(10.0)
    assert b.state == "open" and b.cooldown == 20 and not b.allow(29.0) and b.allow(30.0)
    b.failure(30.0)
    assert b.cooldown == 25


def test_long_retry_after_opens_at_once_for_that_long():
    b = CircuitBreaker(threshold=5, cooldown=10, max_cooldown=300)
    b.failure(0.0, retry_after=60)
    assert b.state == "open" and not b.allow(59.0) and b.allow(60.0)


def test_success_resets_consecutive_failures():
    b = CircuitBreaker(threshold=2, cooldown=10)
    b.failure(0.0)
    b.success()
    b.failure(1.0)
    assert b.state == "closed"
