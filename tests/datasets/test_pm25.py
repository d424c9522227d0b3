import numpy as np
import pytest

from rnnkit.datasets import pm25
from rnnkit.datasets._files import read_text

T = 24


@pytest.fixture(scope="module")
def table():
    return pm25.read_table()


@pytest.fixture(scope="module")
def data():
    return pm25.load(num_steps=T, horizon=1)


def test_raw_table_counts_and_preprocessing(table):
    values, years = table
    assert values.shape == (43824, 6) and not np.isnan(values).any()
    assert (years < 2014).sum() == 35064 and (years == 2014).sum() == 8760
    # The file opens with 24 NA hours before 129: filled linearly from a virtual 0.
    np.testing.assert_allclose(values[:25, 0], 129 * np.arange(1, 26) / 25)
    assert set(np.unique(values[:, 4])) == {0.0, 3.0, 6.0, 9.0}  # the file has no SW: NE, NW, SE, cv
    assert values[:, 5].min() >= 0.0  # de-accumulated wind speed
    np.testing.assert_allclose(values[:3, 5], [1.79, 4.92 - 1.79, 6.71 - 4.92])


def test_raw_table_equals_ai_edu_preprocessing(table, shared_data):
    values, _ = table
    folder = shared_data / "pm25"
    with np.load(folder / "ch19_pm25_train.npz") as a, np.load(folder / "ch19_pm25_test.npz") as b:
        data = np.vstack([a["data"], b["data"]])
        label = np.vstack([a["label"], b["label"]])[:, 0]
        assert a["data"].shape == (35064, 6) and b["data"].shape == (8760, 6)
    np.testing.assert_allclose(values, data, rtol=0, atol=1e-9)
    np.testing.assert_allclose(label[:-1], values[1:, 0], rtol=0, atol=1e-9)  # "label = next hour's pollution"


def test_horizon_1_target_is_the_notes_label(data, table, shared_data):
    values, years = table
    train = years < 2014
    with np.load(shared_data / "pm25" / "ch19_pm25_train.npz") as a:
        label = a["label"][:, 0]
    # ai-edu: window i = rows i..i+T-1, target = label of its last row.
    expected = (label[T - 1 : T - 1 + data.y_train.size] - data.minimum[0]) / data.scale[0]
    np.testing.assert_allclose(data.y_train, expected, rtol=0, atol=1e-12)
    assert data.minimum[0] == values[train, 0].min()


@pytest.mark.parametrize("horizon", pm25.HORIZONS)
def test_windows_and_target_h_hours_after_the_last_row(horizon):
    d = pm25.load(num_steps=T, horizon=horizon)
    assert d.x_train.shape == (35064 - T - horizon + 1, T, 6)
    assert d.x_test.shape == (8760 - T - horizon + 1, T, 6)
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        assert y.shape == (x.shape[0],)
        # stride-1 windows: the pollution h hours after window i's last row is the last row of window i + h
        np.testing.assert_array_equal(y[:-horizon], x[horizon:, -1, 0])
        np.testing.assert_array_equal(x[1:, :-1], x[:-1, 1:])


def test_normalisation_is_fitted_on_the_training_years_only(data, table):
    values, years = table
    flat = data.x_train.reshape(-1, 6)
    np.testing.assert_allclose(flat.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(flat.max(axis=0), 1.0, atol=1e-12)
    first_test_window = (values[years == 2014][:T] - data.minimum) / data.scale
    np.testing.assert_allclose(data.x_test[0], first_test_window)
    np.testing.assert_allclose(data.pollution(data.y_test[0]), values[years == 2014][T, 0])


def test_classification_mode(table):
    values, years = table
    d = pm25.load(num_steps=T, horizon=4, mode="classification")
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_train)) == set(range(6))
    np.testing.assert_array_equal(d.y_test, pm25.pollution_level(values[years == 2014][T - 1 + 4 :, 0]))
    np.testing.assert_allclose(d.x_train[..., 0] * 5, np.round(d.x_train[..., 0] * 5))  # level / 5 as input
    levels = pm25.pollution_level([0, 49.9, 50, 99.9, 100, 149, 150, 199, 200, 299.9, 300, 994])
    assert levels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def _notes_rollout_loop(predict, x, horizon):
    """ai-edu Level4 test()/predict()/set_predicated_value(), one window at a time."""
    count = x.shape[0] - x.shape[0] % horizon
    out = np.zeros(count)
    for i in range(0, count, horizon):
        block = x[i : i + horizon]
        a = np.zeros(horizon)
        for k in range(horizon):
            w = block[k : k + 1].copy()
            for j in range(k):
                w[0, T - k + j, 0] = a[j]
            a[k] = predict(w)[0]
        out[i : i + horizon] = a
    return out


@pytest.mark.parametrize("horizon", pm25.HORIZONS)
def test_notes_rollout_matches_the_notes_loop(data, horizon):
    weights = np.random.default_rng(0).normal(size=(T, 6)) / T

    def predict(xb):
        return (xb * weights).sum(axis=(1, 2))

    x = data.x_test[:203]
    got = pm25.notes_rollout(predict, x, horizon)
    assert got.shape == (203 - 203 % horizon,)
    np.testing.assert_allclose(got, _notes_rollout_loop(predict, x, horizon), rtol=0, atol=1e-12)


def test_notes_rollout_feeds_predictions_back(data):
    # A persistence model (predict the last pollution input) rolled forward repeats the block's first value.
    def persistence(xb):
        return xb[:, -1, 0]

    got = pm25.notes_rollout(persistence, data.x_test[:80], 8).reshape(10, 8)
    np.testing.assert_array_equal(got, np.repeat(data.x_test[:80:8, -1, 0][:, None], 8, axis=1))
    np.testing.assert_array_equal(pm25.notes_rollout(persistence, data.x_test[:5], 1), data.x_test[:5, -1, 0])


def test_damaged_csv_files_say_where(tmp_path):
    lines = read_text("pm25", "PM25_data.csv").splitlines()
    header, rows = lines[0], lines[100:110]  # rows with pm2.5 values
    fields = rows[2].split(",")
    fields[header.split(",").index("DEWP")] = "minus"
    cases = {"": "the file is empty",
             "\n".join([header, *rows[:4], rows[4][:20], *rows[5:]]): "data row 5 has",
             "\n".join([header, *rows[:2], ",".join(fields), *rows[3:]]): "data row 3, column DEWP: 'minus'"}
    for k, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"{k}.csv"
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            pm25.read_table(path)


def test_errors():
    with pytest.raises(ValueError, match="mode"):
        pm25.load(mode="ranking")
    with pytest.raises(ValueError):
        pm25.load(horizon=0)


def _small_csv(tmp_path, name: str, lines: list[str], prefix: bytes = b"") -> str:
    path = tmp_path / name
    path.write_bytes(prefix + "\n".join(lines).encode("utf-8"))
    return str(path)


@pytest.fixture(scope="module")
def csv_lines():
    return read_text("pm25", "PM25_data.csv").splitlines()


def test_a_user_csv_with_a_byte_order_mark_or_crlf_reads_like_the_plain_one(tmp_path, csv_lines):
    # a spreadsheet's BOM glued itself to the first column: "\ufeffyear" made "year" missing
    header, rows = csv_lines[0], csv_lines[35000:35100]  # the end of 2013 and the start of 2014
    lines = [line.split(",", 1)[1] for line in [header, *rows]]  # without "No": "year" is the first column
    plain = pm25.load(num_steps=8, path=_small_csv(tmp_path, "plain.csv", lines))
    bom = _small_csv(tmp_path, "bom.csv", lines, prefix=b"\xef\xbb\xbf")
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes("\r\n".join(lines).encode())
    for path in (bom, crlf):
        d = pm25.load(num_steps=8, path=path)
        np.testing.assert_array_equal(d.x_train, plain.x_train)
        np.testing.assert_array_equal(d.x_test, plain.x_test)
        np.testing.assert_array_equal(d.y_test, plain.y_test)


def test_user_csv_errors_name_the_file_and_the_problem(tmp_path, csv_lines):
    header, rows = csv_lines[0], csv_lines[35000:35100]
    pm_col = header.split(",").index("pm2.5")
    wind_col = header.split(",").index("cbwd")

    def with_column(k, value):
        return [",".join(value if i == k else c for i, c in enumerate(r.split(","))) for r in rows]

    cases = {
        "gap.csv": ([header, *rows[:40], *rows[41:]], r"gap\.csv: data row 41 is not one hour after data row 40"),
        "repeat.csv": ([header, *rows[:40], *rows[39:]], r"repeat\.csv: data row 41 is not one hour after"),
        "only2013.csv": ([header, *rows[:60]], r"only2013\.csv: needs rows before 2014 .* years 2013\.\.2013"),
        "calm.csv": ([header, *with_column(wind_col, "cv")], r"calm\.csv: wnd_dir never changes"),
        "nopm.csv": ([header, *with_column(pm_col, "NA")], r"nopm\.csv: the pm2\.5 column has no value"),
    }
    for name, (lines, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            pm25.load(num_steps=8, path=_small_csv(tmp_path, name, lines))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("\n".join([header, *rows]).encode() + "\n# Pékin".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv: not a UTF-8 CSV \(byte \d+ is 0xe9\)"):
        pm25.read_table(latin)
    with pytest.raises(ValueError, match=r"short\.csv: the test year of 35 rows is too short for num_steps=48"):
        pm25.load(num_steps=48, path=_small_csv(tmp_path, "short.csv", [header, *rows]))
