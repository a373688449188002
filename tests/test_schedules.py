import pytest

from cyclegan.gan.schedules import ConstantThenLinearDecay


def test_step_schedule_exp2():
    schedule = ConstantThenLinearDecay(2e-4, duration=500_000, decay_start=250_000)
    assert float(schedule(0)) == pytest.approx(2e-4)
    assert float(schedule(250_000)) == pytest.approx(2e-4)
    assert float(schedule(375_000)) == pytest.approx(1e-4)
    assert float(schedule(500_000)) == pytest.approx(0.0)
    assert float(schedule(600_000)) == pytest.approx(0.0)


def test_epoch_schedule_exp1_is_constant_within_an_epoch():
    steps_per_epoch = 7
    schedule = ConstantThenLinearDecay(2e-4, duration=200, decay_start=100, steps_per_unit=steps_per_epoch)
    assert float(schedule(0)) == pytest.approx(2e-4)
    assert float(schedule(100 * steps_per_epoch)) == pytest.approx(2e-4)
    assert float(schedule(150 * steps_per_epoch)) == pytest.approx(1e-4)
    assert float(schedule(150 * steps_per_epoch + 6)) == pytest.approx(1e-4)
    assert float(schedule(199 * steps_per_epoch)) == pytest.approx(2e-6)
    assert float(schedule(200 * steps_per_epoch)) == pytest.approx(0.0)


def test_decay_from_the_first_step_and_a_constant_rate_that_stops_are_allowed():
    from_start = ConstantThenLinearDecay(1e-3, duration=10, decay_start=0)
    assert [round(float(from_start(step)), 6) for step in (0, 5, 10)] == [1e-3, 5e-4, 0.0]
    no_decay = ConstantThenLinearDecay(1e-3, duration=10, decay_start=10)  # constant, then 0 at step 10
    assert [float(no_decay(step)) for step in (0, 9, 10, 11)] == pytest.approx([1e-3, 1e-3, 0.0, 0.0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="decay_start"):
        ConstantThenLinearDecay(1e-3, duration=10, decay_start=11)
    with pytest.raises(ValueError, match="decay_start"):
        ConstantThenLinearDecay(1e-3, duration=10, decay_start=-1)
    with pytest.raises(ValueError, match="steps_per_unit"):
        ConstantThenLinearDecay(1e-3, duration=10, decay_start=5, steps_per_unit=0)
