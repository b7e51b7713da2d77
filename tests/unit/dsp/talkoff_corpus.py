# ruff: noqa: RUF001  (Cyrillic letters in the Russian sentences are intended)
"""A talk-off corpus: an hour of speech and music-like audio, made deterministically.

Speech comes from espeak-ng in several languages, voices, speeds and pitches; the music-like
part is synthesized here: chords and arpeggios of harmonic-rich notes, sine and harmonic
glissandi through the DTMF band, sustained vowels from a glottal source through formant
resonators, and breathy flute-like melodies. Every item gets a random level and is passed
through μ-law or A-law. Nothing is filtered out or tuned around the DTMF frequencies.

The result is cached as .npy under the temporary directory, keyed by a hash of everything
that shapes it, so only the first run pays for generating it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter, resample_poly

from dsp import g711
from dsp.mix import saturate
from dsp.tones import DBM0_RMS

RATE = 8000
CORPUS_VERSION = 3
SPEECH_ITEMS = 330  # ~8 s each
MUSIC_SECONDS = 1500.0
CHANNEL_SECONDS = 60.0

TEXT = {
    "en": [
        "Good morning, thank you for calling, my name is Anna, how can I help you today?",
        "I would like to check the status of my order, it was placed last Tuesday.",
        "Could you please give me the invoice number, it starts with the letters A and B.",
        "The delivery address is forty two Baker Street, apartment seven, second floor.",
        "Let me transfer you to the billing department, please stay on the line.",
        "We are open from nine in the morning until six in the evening, Monday to Friday.",
        "I am sorry, I did not quite catch that, could you repeat the last part?",
        "Your balance is three hundred and seventy five dollars and twenty cents.",
        "Yes, yes, of course, absolutely, that is no problem at all.",
        "Hmm, well, I think we should wait for the manager to call us back tomorrow.",
        "The meeting has been moved to Thursday at half past two in room eleven.",
        "Please hold, I am checking this with my colleague right now.",
        "Oh really? That is wonderful news, thank you so much for letting me know!",
        "My phone number is five five five, one two three four, extension eighty nine.",
        "We shipped twelve boxes yesterday, and the rest will follow next week.",
    ],
    "ru": [
        "Добрый день, вы позвонили в службу поддержки, чем я могу вам помочь?",
        "Пожалуйста, назовите номер вашего договора и дату его заключения.",
        "Оставайтесь на линии, ваш звонок очень важен для нас.",
        "Я хотел бы узнать, когда будет доставлен мой заказ.",
        "Ваш баланс составляет триста двадцать пять рублей сорок копеек.",
        "Извините, я вас плохо слышу, перезвоните, пожалуйста, чуть позже.",
        "Встреча перенесена на четверг, на половину третьего.",
        "Да, конечно, я сейчас уточню эту информацию у коллеги.",
        "Адрес доставки: улица Ленина, дом семнадцать, квартира сорок восемь.",
        "Спасибо большое, всего доброго, хорошего вам дня!",
        "Наш офис работает с девяти утра до шести вечера без перерыва.",
        "Подождите минутку, я переключу вас на бухгалтерию.",
    ],
    "de": [
        "Guten Tag, Sie sprechen mit dem Kundenservice, wie kann ich Ihnen helfen?",
        "Ich möchte gerne wissen, wann meine Bestellung geliefert wird.",
        "Bitte nennen Sie mir Ihre Kundennummer und Ihr Geburtsdatum.",
        "Einen Moment bitte, ich verbinde Sie mit der Buchhaltung.",
        "Die Rechnung beträgt zweihundertvierzig Euro und fünfzig Cent.",
        "Entschuldigung, könnten Sie das bitte noch einmal wiederholen?",
        "Das Treffen wurde auf Donnerstag um halb drei verschoben.",
        "Ja, natürlich, das ist überhaupt kein Problem.",
        "Unsere Adresse ist Hauptstraße zwölf, im dritten Stock.",
        "Vielen Dank für Ihren Anruf und einen schönen Tag noch!",
        "Wir haben gestern zwölf Pakete verschickt, der Rest kommt nächste Woche.",
    ],
    "fr": [
        "Bonjour, vous êtes bien au service client, que puis-je faire pour vous?",
        "Je voudrais savoir quand ma commande sera livrée.",
        "Pouvez-vous me donner votre numéro de client, s'il vous plaît?",
        "Ne quittez pas, je vous passe le service de facturation.",
        "Le montant de la facture est de deux cent quarante euros.",
        "Excusez-moi, je ne vous entends pas très bien, pouvez-vous répéter?",
        "La réunion est reportée à jeudi, à quatorze heures trente.",
        "Oui, bien sûr, aucun problème, je m'en occupe tout de suite.",
        "Notre bureau est ouvert de neuf heures à dix-huit heures.",
        "Merci beaucoup pour votre appel, bonne journée!",
        "Nous avons expédié douze colis hier, le reste suivra la semaine prochaine.",
    ],
    "es": [
        "Buenos días, gracias por llamar, ¿en qué puedo ayudarle?",
        "Quisiera saber cuándo llegará mi pedido, lo hice el martes pasado.",
        "Por favor, dígame su número de cliente y su fecha de nacimiento.",
        "Un momento, por favor, le paso con el departamento de facturación.",
        "El importe total es de doscientos cuarenta euros con cincuenta.",
        "Perdone, no le he entendido bien, ¿podría repetirlo?",
        "La reunión se ha cambiado al jueves a las dos y media.",
        "Sí, claro, por supuesto, no hay ningún problema.",
        "Nuestra oficina está en la calle Mayor, número doce, tercer piso.",
        "Muchas gracias por su llamada, que tenga un buen día.",
        "Ayer enviamos doce cajas y el resto saldrá la semana que viene.",
    ],
    "it": [
        "Buongiorno, grazie per aver chiamato, come posso aiutarla?",
        "Vorrei sapere quando verrà consegnato il mio ordine.",
        "Mi può dare il suo numero di cliente, per favore?",
        "Resti in linea, la metto in contatto con l'amministrazione.",
        "Il totale della fattura è di duecentoquaranta euro.",
        "Mi scusi, non ho capito bene, può ripetere?",
        "Sì, certo, nessun problema, me ne occupo subito.",
        "Grazie mille per la chiamata e buona giornata!",
    ],
    "pl": [
        "Dzień dobry, dziękujemy za telefon, w czym mogę pomóc?",
        "Chciałbym się dowiedzieć, kiedy zostanie dostarczone moje zamówienie.",
        "Proszę podać numer klienta oraz datę urodzenia.",
        "Proszę chwilę poczekać, przełączę do działu księgowości.",
        "Kwota faktury wynosi dwieście czterdzieści złotych.",
        "Przepraszam, nie dosłyszałem, czy może pan powtórzyć?",
        "Tak, oczywiście, to żaden problem.",
        "Dziękuję bardzo za rozmowę, miłego dnia!",
    ],
}
VOICE_VARIANTS = [
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt",
    "klatt2", "klatt3", "croak", "grandma", "grandpa", "michel", "steph", "norbert", "Andy",
    "Annie", "benjamin", "edward", "linda", "robert", "travis",
]  # fmt: skip

Float = npt.NDArray[np.float64]
Int16 = npt.NDArray[np.int16]


def parameters() -> dict[str, object]:
    """Everything that shapes the corpus (hashed into the cache key)."""
    return {
        "version": CORPUS_VERSION,
        "speech_items": SPEECH_ITEMS,
        "music_seconds": MUSIC_SECONDS,
        "channel_seconds": CHANNEL_SECONDS,
        "text": TEXT,
        "variants": VOICE_VARIANTS,
        "espeak": _espeak_version(),
    }


def _espeak_version() -> str:
    if shutil.which("espeak-ng") is None:
        return "missing"
    done = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True)
    return done.stdout.strip()


# --- speech ---------------------------------------------------------------------------


def _speech_jobs(rng: np.random.Generator) -> list[tuple[list[str], str]]:
    languages = sorted(TEXT)
    jobs = []
    for index in range(SPEECH_ITEMS):
        language = languages[index % len(languages)]
        variant = VOICE_VARIANTS[int(rng.integers(len(VOICE_VARIANTS)))]
        sentences = rng.choice(TEXT[language], size=3, replace=False)
        args = [
            f"-v{language}+{variant}",
            f"-s{int(rng.integers(110, 231))}",
            f"-p{int(rng.integers(10, 96))}",
            f"-g{int(rng.integers(0, 8))}",
        ]
        jobs.append((args, " ".join(str(s) for s in sentences)))
    return jobs


def _espeak(job: tuple[list[str], str]) -> Float:
    args, text = job
    done = subprocess.run(["espeak-ng", "--stdout", *args, text], capture_output=True, check=True)
    wav = done.stdout
    data_at = wav.find(b"data") + 8
    rate = int.from_bytes(wav[24:28], "little")
    samples = np.frombuffer(wav[data_at : data_at + (len(wav) - data_at) // 2 * 2], "<i2")
    return np.asarray(resample_poly(samples.astype(np.float64), RATE, rate), dtype=np.float64)


def speech(rng: np.random.Generator) -> Iterator[Float]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield from pool.map(_espeak, _speech_jobs(rng))


# --- music-like material --------------------------------------------------------------


def _midi_hz(note: Float | float) -> Float:
    return np.asarray(440.0 * 2.0 ** ((np.asarray(note) - 69.0) / 12.0), dtype=np.float64)


def _envelope(n: int, rng: np.random.Generator) -> Float:
    """Attack, decay to a sustain level, release."""
    attack = max(1, int(n * rng.uniform(0.01, 0.2)))
    release = max(1, int(n * rng.uniform(0.05, 0.4)))
    sustain = rng.uniform(0.5, 1.0)
    env = np.interp(np.arange(n), [0, attack, 2 * attack, n], [0.0, 1.0, sustain, sustain])
    env[n - release :] *= np.linspace(1.0, 0.0, release)
    return env


def _timbre(rng: np.random.Generator) -> Callable[[int], float]:
    kind = int(rng.integers(4))
    if kind == 0:
        return lambda k: 1.0 / k  # sawtooth-like
    if kind == 1:
        return lambda k: (1.0 / k) if k % 2 else 0.0  # square-like (clarinet)
    if kind == 2:
        return lambda k: 1.0 / k**2 * (k < 12)  # mellow, few strong partials
    return lambda k: 1.0 / (1.0 + abs(k - 3))  # bright, peak at the 3rd partial


def _harmonic(freq: Float, timbre: Callable[[int], float], rng: np.random.Generator) -> Float:
    """A harmonic-rich tone following the instantaneous frequency track ``freq``."""
    phase = 2.0 * np.pi * np.cumsum(freq) / RATE
    out = np.zeros(freq.size)
    top = float(freq.max())
    for k in range(1, int(3900.0 / top) + 1):
        weight = timbre(k)
        if weight:
            out += weight * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return out


def _note(
    midi: float, seconds: float, timbre: Callable[[int], float], rng: np.random.Generator
) -> Float:
    n = int(seconds * RATE)
    vibrato = 1.0 + rng.uniform(0, 0.006) * np.sin(
        2 * np.pi * rng.uniform(4, 7) * np.arange(n) / RATE
    )
    freq = _midi_hz(midi) * vibrato * (1.0 + rng.uniform(-0.003, 0.003))
    return _harmonic(freq, timbre, rng) * _envelope(n, rng)


def chords(rng: np.random.Generator, seconds: float) -> Float:
    parts = []
    while sum(p.size for p in parts) < seconds * RATE:
        root = rng.integers(45, 72)
        shape = [[0, 4, 7], [0, 3, 7], [0, 4, 7, 10], [0, 7], [0, 5, 9], [0, 3, 6]][
            int(rng.integers(6))
        ]
        length = rng.uniform(0.2, 2.0)
        timbre = _timbre(rng)
        voices = [_note(float(root + s + 12 * rng.integers(0, 2)), length, timbre, rng)
                  for s in shape]  # fmt: skip
        parts.append(np.sum(voices, axis=0))
    return np.concatenate(parts)


def arpeggios(rng: np.random.Generator, seconds: float) -> Float:
    parts = []
    while sum(p.size for p in parts) < seconds * RATE:
        root = int(rng.integers(50, 74))
        steps = [0, 4, 7, 12, 16, 19, 24] if rng.random() < 0.5 else [0, 3, 7, 12, 15, 19, 24]
        timbre = _timbre(rng)
        note_s = rng.uniform(0.06, 0.25)
        order = steps + steps[-2:0:-1]
        for step in order * int(rng.integers(1, 4)):
            parts.append(_note(float(root + step), note_s, timbre, rng))
    return np.concatenate(parts)


def glissandi(rng: np.random.Generator, seconds: float) -> Float:
    parts = []
    while sum(p.size for p in parts) < seconds * RATE:
        n = int(rng.uniform(0.3, 4.0) * RATE)
        low, high = sorted(rng.uniform(150.0, 2200.0, 2))
        track = np.geomspace(low, high, n) if rng.random() < 0.5 else np.linspace(low, high, n)
        if rng.random() < 0.5:
            track = track[::-1]
        kind = int(rng.integers(3))
        if kind == 0:  # a pure sine sweep
            tone = np.sin(2 * np.pi * np.cumsum(track) / RATE)
        elif kind == 1:  # a harmonic-rich slide
            tone = _harmonic(np.minimum(track, 1900.0), _timbre(rng), rng)
        else:  # two harmonic voices sliding in parallel at a random interval
            ratio = 2.0 ** (rng.integers(3, 13) / 12.0)
            base = np.minimum(track, 1900.0 / ratio)
            timbre = _timbre(rng)
            tone = _harmonic(base, timbre, rng) + _harmonic(base * ratio, timbre, rng)
        parts.append(tone * _envelope(n, rng))
    return np.concatenate(parts)


FORMANTS = {  # (F1, F2, F3) Hz, bandwidths follow
    "a": (730, 1090, 2440), "e": (530, 1840, 2480), "i": (270, 2290, 3010),
    "o": (570, 840, 2410), "u": (300, 870, 2240), "ae": (660, 1720, 2410),
    "uh": (520, 1190, 2390), "er": (490, 1350, 1690),
}  # fmt: skip


def vowels(rng: np.random.Generator, seconds: float) -> Float:
    parts = []
    names = sorted(FORMANTS)
    while sum(p.size for p in parts) < seconds * RATE:
        n = int(rng.uniform(0.4, 3.0) * RATE)
        f0 = rng.uniform(80.0, 320.0) * (
            1.0 + rng.uniform(0, 0.03) * np.sin(2 * np.pi * rng.uniform(3, 6) * np.arange(n) / RATE)
        )
        f0 *= np.geomspace(1.0, rng.uniform(0.85, 1.15), n)  # slow intonation
        phase = np.cumsum(f0) / RATE
        pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
        source = lfilter([1.0], [1.0, -0.97], pulses)  # glottal roll-off
        signal = source
        for formant, bandwidth in zip(FORMANTS[names[int(rng.integers(len(names)))]],
                                      (80, 100, 120), strict=True):  # fmt: skip
            radius = np.exp(-np.pi * bandwidth / RATE)
            theta = 2 * np.pi * formant * rng.uniform(0.9, 1.1) / RATE
            signal = lfilter([1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2], signal)
        parts.append(signal * _envelope(n, rng))
    return np.concatenate(parts)


def flutes(rng: np.random.Generator, seconds: float) -> Float:
    parts = []
    note = float(rng.integers(60, 90))
    while sum(p.size for p in parts) < seconds * RATE:
        length = rng.uniform(0.1, 0.8)
        tone = _note(note, length, lambda k: (1.0, 0.25, 0.1, 0.04)[k - 1] if k <= 4 else 0.0, rng)
        breath = rng.standard_normal(tone.size) * 0.05 * np.abs(tone).max()
        parts.append(tone + breath)
        note = float(np.clip(note + rng.integers(-4, 5), 60, 90))
    return np.concatenate(parts)


MUSIC = (chords, arpeggios, glissandi, vowels, flutes)


def music(rng: np.random.Generator) -> Iterator[Float]:
    share = MUSIC_SECONDS / len(MUSIC)
    for make in MUSIC:
        made = 0.0
        while made < share:
            piece = make(rng, min(12.0, share - made))
            made += piece.size / RATE
            yield piece


# --- assembly -------------------------------------------------------------------------


def _leveled(piece: Float, rng: np.random.Generator, law: g711.Law) -> Int16:
    active = np.abs(piece) > 1e-3 * np.abs(piece).max() if piece.size else piece > 0
    rms = np.sqrt(np.mean(piece[active] ** 2)) if active.any() else 1.0
    level = rng.uniform(-32.0, -6.0)
    scaled = saturate(piece / rms * DBM0_RMS * 10.0 ** (level / 20.0))
    return g711.decode(g711.encode(scaled, law), law)


def build() -> tuple[list[Int16], int]:
    """The corpus as equal-length channels of CHANNEL_SECONDS (the last one shorter).

    Also returns how many leading channels hold speech only (the rest is music-like).
    """
    rng = np.random.default_rng(20240611)
    speech_rng, music_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**32, 2))
    step = int(CHANNEL_SECONDS * RATE)
    parts: list[Int16] = []
    for kind, pieces in (("speech", speech(speech_rng)), ("music", music(music_rng))):
        for index, piece in enumerate(pieces):
            parts.append(_leveled(piece, rng, g711.LAWS[index % 2]))
            parts.append(np.zeros(int(rng.uniform(0.05, 0.6) * RATE), dtype=np.int16))
        if kind == "speech":
            speech_channels = sum(p.size for p in parts) // step
    audio = np.concatenate(parts)
    return [audio[i : i + step] for i in range(0, audio.size, step)], speech_channels


def cached() -> list[Int16]:
    """The corpus, from the cache when a run with the same parameters made it already."""
    channels, _ = cached_parts()
    return channels


def cached_parts() -> tuple[list[Int16], int]:
    """The cached corpus and the number of leading channels that hold speech only."""
    key = hashlib.sha256(
        json.dumps(parameters(), sort_keys=True, ensure_ascii=False).encode()
        + Path(__file__).read_bytes()
    ).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"dsp-talkoff-{key}.npz"
    if not path.exists():
        channels, speech_channels = build()
        audio = np.zeros((len(channels), channels[0].size), dtype=np.int16)
        for row, channel in zip(audio, channels, strict=False):
            row[: channel.size] = channel
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(partial, audio=audio, speech_channels=speech_channels)
        partial.replace(path)
    with np.load(path) as stored:
        return list(stored["audio"]), int(stored["speech_channels"])
