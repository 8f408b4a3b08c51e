"""Wrong answers for chapter 08's exercises (format: tests/wrong_answers/__init__.py)."""

_EX1_TRAIN = '''
ex1_moved = move_digits_to_end(book_digit_sum_splits(35))
ex1_result = train_batched([make_model("RNN", 0), make_model("RNN", 0)], [35, 35], [0, 0],
                           [book_digit_sum_splits(35), ex1_moved], TrainConfig(epochs=15, shuffle=False))
'''

_EX2_TRAIN = '''
ex2_config = {h: TrainConfig(epochs=50, hidden_size=h, shuffle=False) for h in (8, 32)}
ex2_small = run_sweep("LSTM", [10], [0, 1], config=ex2_config[8], init="nndl", data="book")
ex2_large = run_sweep("LSTM", [10], [0, 1], config=ex2_config[32], init="nndl", data="book")
'''

_EX3_MEASURE = '''
ex3_x, ex3_y = book_digit_sum_splits(35)["test"]
ex3_grad = {
    "default": np.mean([first_two_gradient_norm(make_model("LSTM", s), ex3_x, ex3_y) for s in (0, 1, 2)]),
    "bias 1": np.mean([first_two_gradient_norm(with_forget_bias(make_model("LSTM", s), 1.0), ex3_x, ex3_y)
                       for s in (0, 1, 2)]),
}
'''

WRONG_ANSWERS = {
    1: {
        "copied a, b to the end but also left them at the start": '''
def move_digits_to_end(split):
    out = {}
    for name, (x, y) in split.items():
        moved = x.clone()
        moved[:, -2:] = x[:, :2]
        out[name] = (moved, y)
    return out
''' + _EX1_TRAIN,
        "rebuilt [0, ..., 0, a, b] and lost the noise digit": '''
def move_digits_to_end(split):
    out = {}
    for name, (x, y) in split.items():
        moved = torch.zeros_like(x)
        moved[:, -2:] = x[:, :2]
        out[name] = (moved, y)
    return out
''' + _EX1_TRAIN,
        "rolled the wrong way (two steps to the right)": '''
def move_digits_to_end(split):
    return {name: (x.roll(2, dims=1), y) for name, (x, y) in split.items()}
''' + _EX1_TRAIN,
        "trained both models on the book's data": '''
def move_digits_to_end(split):
    return {name: (x.roll(-2, dims=1), y) for name, (x, y) in split.items()}


ex1_moved = move_digits_to_end(book_digit_sum_splits(35))
ex1_result = train_batched([make_model("RNN", 0), make_model("RNN", 0)], [35, 35], [0, 0],
                           [book_digit_sum_splits(35), book_digit_sum_splits(35)], TrainConfig(epochs=15, shuffle=False))
''',
    },
    2: {
        "counted both torch biases, trainable or not": _EX2_TRAIN + '''
ex2_n_params = sum(p.numel() for p in make_model("LSTM", 0, init="nndl", hidden_size=8).parameters())
''',
        "hard-coded the hidden-32 model's count": _EX2_TRAIN + '''
ex2_n_params = 9267
''',
        "forgot the classifier": _EX2_TRAIN + '''
ex2_n_params = 10 * 32 + 4 * 8 * (32 + 8 + 1)
''',
        "kept torch's default initialisation": '''
ex2_config = {h: TrainConfig(epochs=50, hidden_size=h, shuffle=False) for h in (8, 32)}
ex2_small = run_sweep("LSTM", [10], [0, 1], config=ex2_config[8], data="book")
ex2_large = run_sweep("LSTM", [10], [0, 1], config=ex2_config[32], data="book")
ex2_n_params = sum(p.numel() for p in make_model("LSTM", 0, init="nndl", hidden_size=8).parameters() if p.requires_grad)
''',
    },
    3: {
        "set b_if only, forgetting that torch adds b_hf": '''
def with_forget_bias(model, value=1.0):
    H = model.rnn.hidden_size
    with torch.no_grad():
        model.rnn.bias_ih_l0[H:2 * H] = value
    return model
''' + _EX3_MEASURE,
        "took the first block for the forget gate": '''
def with_forget_bias(model, value=1.0):
    H = model.rnn.hidden_size
    with torch.no_grad():
        model.rnn.bias_ih_l0[:H] = value
        model.rnn.bias_hh_l0[:H] = 0.0
    return model
''' + _EX3_MEASURE,
        "set the bias of every gate": '''
def with_forget_bias(model, value=1.0):
    with torch.no_grad():
        model.rnn.bias_ih_l0.fill_(value)
        model.rnn.bias_hh_l0.zero_()
    return model
''' + _EX3_MEASURE,
    },
}
