"""Wrong answers for chapter 04's exercises (format: tests/wrong_answers/__init__.py)."""

WRONG_ANSWERS = {
    1: {
        "forgot one of the two biases per block": '''
def count_params(kind, input_size, hidden_size, n_classes):
    blocks = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    per_block = hidden_size * input_size + hidden_size * hidden_size + hidden_size
    return blocks * per_block + hidden_size * n_classes + n_classes
''',
        "gave the GRU four blocks like the LSTM": '''
def count_params(kind, input_size, hidden_size, n_classes):
    blocks = {"RNN": 1, "LSTM": 4, "GRU": 4}[kind]
    per_block = hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size
    return blocks * per_block + hidden_size * n_classes + n_classes
''',
        "forgot the readout": '''
def count_params(kind, input_size, hidden_size, n_classes):
    blocks = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    return blocks * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)
''',
        "built the layers and counted their parameters (not from the formulas)": '''
def count_params(kind, input_size, hidden_size, n_classes):
    layer = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind](input_size, hidden_size)
    return sum(p.numel() for p in layer.parameters()) + hidden_size * n_classes + n_classes
''',
        "hard-coded the counts printed in the table": '''
def count_params(kind, input_size, hidden_size, n_classes):
    return {"RNN": 6666, "LSTM": 24714, "GRU": 18698}[kind]
''',
    },
    2: {
        "read the last k rows instead of the first": '''
X_1000, y_1000 = X_test[:1000].to(device), y_test[:1000].to(device)  # (1000, 28, 28), (1000,)


def accuracy_first_rows(model, k):
    model.eval()
    with torch.no_grad():
        logits = model(X_1000[:, -k:])
    return (logits.argmax(dim=-1) == y_1000).float().mean().item()


first_rows = {k: accuracy_first_rows(lstm_reader, k) for k in (7, 14, 21, 28)}
''',
        "zero-padded the other rows (still classifies from H_28)": '''
X_1000, y_1000 = X_test[:1000].to(device), y_test[:1000].to(device)  # (1000, 28, 28), (1000,)


def accuracy_first_rows(model, k):
    model.eval()
    X = X_1000.clone()
    X[:, k:] = 0
    with torch.no_grad():
        logits = model(X)
    return (logits.argmax(dim=-1) == y_1000).float().mean().item()


first_rows = {k: accuracy_first_rows(lstm_reader, k) for k in (7, 14, 21, 28)}
''',
        "assumed k/28 of the full accuracy": '''
X_1000, y_1000 = X_test[:1000].to(device), y_test[:1000].to(device)  # (1000, 28, 28), (1000,)


def accuracy_first_rows(model, k):
    model.eval()
    with torch.no_grad():
        full = (model(X_1000).argmax(dim=-1) == y_1000).float().mean().item()
    return full * k / 28


first_rows = {k: accuracy_first_rows(lstm_reader, k) for k in (7, 14, 21, 28)}
''',
    },
    3: {
        "took outputs[:, -1] for both directions": '''
seed_everything(0)
bi_layer = nn.LSTM(28, 64, num_layers=2, batch_first=True, bidirectional=True).to(device)


def bidirectional_summary(layer, X):
    outputs, _ = layer(X)
    return outputs[:, -1]


with torch.no_grad():
    summary = bidirectional_summary(bi_layer, X_8)
print(tuple(summary.shape))
''',
        "read the top layer's pair from h_n": '''
seed_everything(0)
bi_layer = nn.LSTM(28, 64, num_layers=2, batch_first=True, bidirectional=True).to(device)


def bidirectional_summary(layer, X):
    _, (h_n, _) = layer(X)
    return torch.cat([h_n[-2], h_n[-1]], dim=-1)


with torch.no_grad():
    summary = bidirectional_summary(bi_layer, X_8)
print(tuple(summary.shape))
''',
        "read h_n[0] and h_n[1] (the bottom layer)": '''
seed_everything(0)
bi_layer = nn.LSTM(28, 64, num_layers=2, batch_first=True, bidirectional=True).to(device)


def bidirectional_summary(layer, X):
    _, (h_n, _) = layer(X)
    return torch.cat([h_n[0], h_n[1]], dim=-1)


with torch.no_grad():
    summary = bidirectional_summary(bi_layer, X_8)
print(tuple(summary.shape))
''',
        "forward state after row 1, backward after row 28 (swapped ends)": '''
seed_everything(0)
bi_layer = nn.LSTM(28, 64, num_layers=2, batch_first=True, bidirectional=True).to(device)


def bidirectional_summary(layer, X):
    outputs, _ = layer(X)
    hidden = layer.hidden_size
    return torch.cat([outputs[:, 0, :hidden], outputs[:, -1, hidden:]], dim=-1)


with torch.no_grad():
    summary = bidirectional_summary(bi_layer, X_8)
print(tuple(summary.shape))
''',
    },
}
