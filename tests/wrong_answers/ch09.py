"""Wrong answers for chapter 09's exercises (format: see tests/wrong_answers/__init__.py)."""

WRONG_ANSWERS = {
    1: {
        "off by one: t <= length marks one padded step as real": '''
def length_mask(lengths, steps):
    return torch.arange(steps).unsqueeze(0) <= lengths.unsqueeze(1)
''',
        "inverted: True at the padding": '''
def length_mask(lengths, steps):
    return torch.arange(steps).unsqueeze(0) >= lengths.unsqueeze(1)
''',
        "counts steps from 1: the last real step is lost": '''
def length_mask(lengths, steps):
    return torch.arange(1, steps + 1).unsqueeze(0) < lengths.unsqueeze(1)
''',
        "a 0/1 float mask instead of bool": '''
def length_mask(lengths, steps):
    return (torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)).float()
''',
    },
    2: {
        "mean over every step, padding included": '''
def masked_mean(output, lengths):
    return output.mean(dim=1)
''',
        "divides by the length but sums the padding too": '''
def masked_mean(output, lengths):
    return output.sum(dim=1) / lengths.unsqueeze(1).to(output.dtype)
''',
        "masks the padding but divides by the padded length": '''
def masked_mean(output, lengths):
    mask = torch.arange(output.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return (output * mask.unsqueeze(-1)).sum(dim=1) / output.shape[1]
''',
    },
    3: {
        "packs after all: the call the statement forbids": '''
def bidirectional_without_packing(bilstm, X, lengths):
    return pad_packed_sequence(bilstm(pack_padded_sequence(X, lengths, batch_first=True,
                                                           enforce_sorted=False))[0], batch_first=True)[0]
''',
        "packs through the module, not the imported name": '''
def bidirectional_without_packing(bilstm, X, lengths):
    packed = torch.nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
    return torch.nn.utils.rnn.pad_packed_sequence(bilstm(packed)[0], batch_first=True)[0]
''',
        "the unpacked bidirectional run with the padding zeroed": '''
def bidirectional_without_packing(bilstm, X, lengths):
    out, _ = bilstm(X)
    real = torch.arange(X.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return out * real.unsqueeze(-1).to(out.dtype)
''',
        "reverses the whole padded tensor (padding is read first)": '''
def one_direction(bilstm, suffix):
    lstm = nn.LSTM(bilstm.input_size, bilstm.hidden_size, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(bilstm, f"{name}_l0{suffix}"))
    return lstm


def bidirectional_without_packing(bilstm, X, lengths):
    forward_out, _ = one_direction(bilstm, "")(X)
    backward_rev, _ = one_direction(bilstm, "_reverse")(X.flip(1))
    out = torch.cat([forward_out, backward_rev.flip(1)], dim=-1)
    real = torch.arange(X.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return out * real.unsqueeze(-1).to(out.dtype)
''',
        "reverses within the length but forgets to reverse the outputs back": '''
def reverse_within_length(x, lengths):
    steps = torch.arange(x.shape[1]).unsqueeze(0)
    n = lengths.unsqueeze(1)
    index = torch.where(steps < n, n - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def one_direction(bilstm, suffix):
    lstm = nn.LSTM(bilstm.input_size, bilstm.hidden_size, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(bilstm, f"{name}_l0{suffix}"))
    return lstm


def bidirectional_without_packing(bilstm, X, lengths):
    forward_out, _ = one_direction(bilstm, "")(X)
    backward_rev, _ = one_direction(bilstm, "_reverse")(reverse_within_length(X, lengths))
    out = torch.cat([forward_out, backward_rev], dim=-1)
    real = torch.arange(X.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return out * real.unsqueeze(-1).to(out.dtype)
''',
        "right outputs but the padded steps are left as computed": '''
def reverse_within_length(x, lengths):
    steps = torch.arange(x.shape[1]).unsqueeze(0)
    n = lengths.unsqueeze(1)
    index = torch.where(steps < n, n - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def one_direction(bilstm, suffix):
    lstm = nn.LSTM(bilstm.input_size, bilstm.hidden_size, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(bilstm, f"{name}_l0{suffix}"))
    return lstm


def bidirectional_without_packing(bilstm, X, lengths):
    forward_out, _ = one_direction(bilstm, "")(X)
    backward_rev, _ = one_direction(bilstm, "_reverse")(reverse_within_length(X, lengths))
    return torch.cat([forward_out, reverse_within_length(backward_rev, lengths)], dim=-1)
''',
    },
}
