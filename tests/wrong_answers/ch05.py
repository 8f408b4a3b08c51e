"""Wrong answers for chapter 05's exercises (format: tests/wrong_answers/__init__.py)."""

WRONG_ANSWERS = {
    1: {
        "forgot to undo the normalisation": '''
flight_models[0].eval()
with torch.no_grad():
    one_step = flight_models[0](fw.x_test.to(device)).cpu().squeeze(-1).numpy()
one_step_rmse = rmse(fw.test_values, one_step)
''',
        "used the recursive forecast, not the true inputs": '''
one_step = np.asarray(lstm_forecasts[0])
one_step_rmse = rmse(fw.test_values, one_step)
''',
        "fed the last training window twelve times": '''
flight_models[0].eval()
with torch.no_grad():
    z = flight_models[0](fw.context[None].repeat(12, 1, 1).to(device)).cpu().squeeze(-1)
one_step = fw.normalizer.inverse_transform(z.numpy())
one_step_rmse = rmse(fw.test_values, one_step)
''',
    },
    2: {
        "the history includes the forecast year (leak)": '''
origin_rmse = {}
for year, start in ((1958, 108), (1959, 120), (1960, 132)):
    history_before = fw.series[:start + 12]
    truth = fw.series[start:start + 12]
    origin_rmse[year] = (rmse(truth, seasonal_naive(history_before, 12)),
                         rmse(truth, seasonal_naive_growth(history_before, 12)))
''',
        "the history ends a year too early (off by one)": '''
origin_rmse = {}
for year, start in ((1958, 108), (1959, 120), (1960, 132)):
    history_before = fw.series[:start - 12]
    truth = fw.series[start:start + 12]
    origin_rmse[year] = (rmse(truth, seasonal_naive(history_before, 12)),
                         rmse(truth, seasonal_naive_growth(history_before, 12)))
''',
    },
    3: {
        "forgot to undo the d normalisation": '''
log_y = np.log(fw.series.astype(np.float64))
d = log_y[12:] - log_y[:-12]
d_train = d[: fw.n_train - 12]
d_normalizer = Normalizer().fit(d_train)
d_z = torch.tensor(d_normalizer.transform(d_train), dtype=torch.float32)
d_windows = d_z.unfold(0, 13, 1)
d_model, _ = train_forecaster(d_windows[:, :12, None], d_windows[:, 12:], epochs=chosen_epochs, lr=1e-2,
                              batch_size=16, seed=0)
d_forecast = forecast_recursive(d_model, d_z[-12:, None], 12).numpy()
growth_forecast = fw.series[fw.n_train - 12:fw.n_train] * np.exp(d_forecast)
growth_rmse = rmse(fw.test_values, growth_forecast)
''',
        "normaliser fitted on every d, 1960 included (leak)": '''
log_y = np.log(fw.series.astype(np.float64))
d = log_y[12:] - log_y[:-12]
d_normalizer = Normalizer().fit(d)
d_train = d[: fw.n_train - 12]
d_z = torch.tensor(d_normalizer.transform(d_train), dtype=torch.float32)
d_windows = d_z.unfold(0, 13, 1)
d_model, _ = train_forecaster(d_windows[:, :12, None], d_windows[:, 12:], epochs=chosen_epochs, lr=1e-2,
                              batch_size=16, seed=0)
d_forecast = d_normalizer.inverse_transform(forecast_recursive(d_model, d_z[-12:, None], 12).numpy())
growth_forecast = fw.series[fw.n_train - 12:fw.n_train] * np.exp(d_forecast)
growth_rmse = rmse(fw.test_values, growth_forecast)
''',
        "skipped training (an untrained Forecaster forecasts d)": '''
log_y = np.log(fw.series.astype(np.float64))
d = log_y[12:] - log_y[:-12]
d_train = d[: fw.n_train - 12]
d_normalizer = Normalizer().fit(d_train)
d_z = torch.tensor(d_normalizer.transform(d_train), dtype=torch.float32)
seed_everything(0)
d_model = Forecaster().to(device)
d_forecast = d_normalizer.inverse_transform(forecast_recursive(d_model, d_z[-12:, None], 12).numpy())
growth_forecast = fw.series[fw.n_train - 12:fw.n_train] * np.exp(d_forecast)
growth_rmse = rmse(fw.test_values, growth_forecast)
''',
        "no growth forecast at all (d = 0, the plain seasonal naive)": '''
log_y = np.log(fw.series.astype(np.float64))
d = log_y[12:] - log_y[:-12]
d_train = d[: fw.n_train - 12]
d_normalizer = Normalizer().fit(d_train)
d_z = torch.tensor(d_normalizer.transform(d_train), dtype=torch.float32)
seed_everything(0)
d_model = Forecaster().to(device)
d_forecast = np.zeros(12)
growth_forecast = fw.series[fw.n_train - 12:fw.n_train] * np.exp(d_forecast)
growth_rmse = rmse(fw.test_values, growth_forecast)
''',
    },
}
