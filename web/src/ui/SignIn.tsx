import { useMemo, useRef, useState } from "preact/hooks";
import { AsYouType, getCountries, getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js";
import { api } from "../api";
import { ApiError, signInErrorText, waitText } from "../lib/errors";
import { startSession } from "../store";
import { useNow } from "./hooks";

function guessCountry(): CountryCode {
  try {
    const saved = localStorage.getItem("parley.country");
    if (saved && (getCountries() as string[]).includes(saved)) return saved as CountryCode;
  } catch {
    /* ignore */
  }
  for (const lang of navigator.languages ?? [navigator.language]) {
    const region = lang.split("-")[1]?.toUpperCase();
    if (region && (getCountries() as string[]).includes(region)) return region as CountryCode;
  }
  return "US";
}

function countryOptions(): { code: CountryCode; label: string }[] {
  let names: Intl.DisplayNames | null = null;
  try {
    names = new Intl.DisplayNames([navigator.language || "en"], { type: "region" });
  } catch {
    names = null;
  }
  return getCountries()
    .map((code) => ({ code, label: `${names?.of(code) ?? code} (+${getCountryCallingCode(code)})` }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** The number in E.164 when libphonenumber-js can read it, else what was typed (the server says why not). */
export function toE164(raw: string, country: CountryCode): string {
  const p = parsePhoneNumberFromString(raw, country);
  return p && p.isPossible() ? p.number : raw.trim();
}

export function SignIn() {
  const countries = useMemo(countryOptions, []);
  const [country, setCountry] = useState<CountryCode>(guessCountry);
  const [phone, setPhone] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [needName, setNeedName] = useState(false);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [resendAt, setResendAt] = useState(0);
  const now = useNow(1000, resendAt > Date.now());
  const codeRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);

  const onPhoneInput = (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    const raw = el.value;
    const atEnd = el.selectionStart === raw.length;
    // Format as the person types, only when typing at the end (so the caret never jumps).
    if (atEnd && !(e as InputEvent).inputType?.startsWith("delete")) {
      const f = new AsYouType(country);
      const formatted = f.input(raw);
      const detected = f.getCountry();
      if (detected && raw.trim().startsWith("+") && detected !== country) setCountry(detected);
      setPhone(formatted);
    } else {
      setPhone(raw);
    }
  };

  const sendCode = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    setInfo(null);
    if (!phone.trim()) {
      setError("Enter your phone number.");
      return;
    }
    const e164 = toE164(phone, country);
    setBusy(true);
    try {
      const res = await api.requestCode(e164);
      try {
        localStorage.setItem("parley.country", country);
      } catch {
        /* ignore */
      }
      setSentTo(res.phone);
      setCode("");
      setNeedName(false);
      setResendAt(Date.now() + res.resend_in * 1000);
      const p = parsePhoneNumberFromString(res.phone);
      setInfo(`We sent a 6-digit code by SMS to ${p ? p.formatInternational() : res.phone}. It is valid for ${waitText(res.expires_in)}.`);
      setTimeout(() => codeRef.current?.focus(), 0);
    } catch (err) {
      setError(err instanceof ApiError ? signInErrorText(err) : "Something went wrong. Please try again.");
    } finally {
      setBusy(false);
    }
  };

  const verify = async (e: Event) => {
    e.preventDefault();
    if (busy || !sentTo) return;
    setError(null);
    const digits = code.replace(/\D/g, "");
    if (digits.length === 0) {
      setError("Enter the code from the SMS.");
      return;
    }
    if (needName && !name.trim()) {
      setError("Enter your name to create your account.");
      nameRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const res = await api.verify(sentTo, digits, needName ? name.trim() : undefined);
      await startSession(res.user);
    } catch (err) {
      if (err instanceof ApiError && err.code === "name_required") {
        setNeedName(true);
        setInfo(null);
        setError(null);
        setInfo("Welcome to Parley! This number has no account yet: tell us your name to create one.");
        setTimeout(() => nameRef.current?.focus(), 0);
      } else {
        setError(err instanceof ApiError ? signInErrorText(err) : "Something went wrong. Please try again.");
        if (err instanceof ApiError && (err.code === "code_expired" || err.code === "too_many_attempts")) setCode("");
      }
    } finally {
      setBusy(false);
    }
  };

  const wait = Math.max(0, Math.ceil((resendAt - now) / 1000));

  return (
    <main class="signin">
      <div class="signin-card">
        <h1 class="brand">
          <span class="brand-mark" aria-hidden="true" />
          Parley
        </h1>
        <p class="lead">Sign in with your phone number. We will send you a code by SMS.</p>

        <form onSubmit={sendCode} class="stack" noValidate>
          <label class="field">
            <span>Country</span>
            <select value={country} onChange={(e) => setCountry((e.currentTarget as HTMLSelectElement).value as CountryCode)}>
              {countries.map((c) => (
                <option key={c.code} value={c.code}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span>Phone number</span>
            <input
              type="tel"
              inputMode="tel"
              autoComplete="tel"
              value={phone}
              onInput={onPhoneInput}
              placeholder={new AsYouType(country).input(`+${getCountryCallingCode(country)}`) + " …"}
              aria-describedby="phone-hint"
            />
          </label>
          <p id="phone-hint" class="hint">
            {sentTo && wait > 0 ? `You can ask for a new code in ${waitText(wait)}.` : "In national or international format."}
          </p>
          <button type="submit" class="primary" disabled={busy && !sentTo}>
            Send code
          </button>
        </form>

        {sentTo && (
          <form onSubmit={verify} class="stack" noValidate>
            <label class="field">
              <span>Code</span>
              <input
                ref={codeRef}
                type="text"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={12}
                value={code}
                onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
              />
            </label>
            {needName && (
              <label class="field">
                <span>Your name</span>
                <input
                  ref={nameRef}
                  type="text"
                  autoComplete="name"
                  maxLength={64}
                  value={name}
                  onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
                />
              </label>
            )}
            <button type="submit" class="primary" disabled={busy}>
              Verify
            </button>
          </form>
        )}

        <div class="messages" aria-live="polite">
          {info && <p class="info">{info}</p>}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </div>
      </div>
    </main>
  );
}
