"""Teacher architectures for the ensemble that the shipped BERT student is distilled from. Never exported:
they only add diversity (convolutions and recurrence see a sentence differently than attention does)."""
import torch
from torch import nn


class KimCNN(nn.Module):
    """Kim (2014): parallel 1-d convolutions of widths 3/4/5 over word vectors, max-pooled."""

    def __init__(self, vocab_size, embed_dim=128, filters=200, widths=(2, 3, 4, 5), dropout=0.5, num_labels=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, filters, w, padding=w - 1) for w in widths])
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(filters * len(widths), num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        x = self.word_embeddings(input_ids).transpose(1, 2)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))
            # with padding w-1 on both sides, output position p is a window touching the sentence iff p < length+w-1
            h = h.masked_fill(self._window_mask(attention_mask, h.shape[2]).unsqueeze(1) == 0, -1e4)
            pooled.append(h.max(dim=2).values)
        return self.classifier(self.dropout(torch.cat(pooled, dim=1)))

    @staticmethod
    def _window_mask(attention_mask, width_out):
        lengths = attention_mask.sum(1, keepdim=True)
        positions = torch.arange(width_out, device=attention_mask.device).unsqueeze(0)
        kernel_extra = width_out - attention_mask.shape[1]
        return (positions < lengths + kernel_extra).long()


class BiLSTMMaxPool(nn.Module):
    """Bidirectional LSTM, max-pooled over time (InferSent-style)."""

    def __init__(self, vocab_size, embed_dim=128, hidden=256, dropout=0.4, num_labels=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        x = self.dropout(self.word_embeddings(input_ids))
        lengths = attention_mask.sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])
        out = out.masked_fill(attention_mask.unsqueeze(2) == 0, -1e4)
        return self.classifier(self.dropout(out.max(dim=1).values))
