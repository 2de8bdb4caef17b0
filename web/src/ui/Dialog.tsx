import type { ComponentChildren, Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useId } from "./hooks";

/**
 * A modal dialog on the native <dialog> element: focus moves inside, the page behind is
 * inert, Escape closes it, and focus returns to where it was.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId("dlg");
  useEffect(() => {
    const d = ref.current!;
    const back = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault();
      props.onClose();
    };
    d.addEventListener("cancel", onCancel);
    return () => {
      d.removeEventListener("cancel", onCancel);
      if (d.open) d.close();
      back?.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} class={`dialog ${props.class ?? ""}`}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** The end of a form in a dialog: the last error, then Cancel and the submit button. */
export function FormFooter(props: { error: string | null | undefined; busy: boolean; submit: string; onClose: () => void }) {
  return (
    <>
      {props.error && (
        <p class="error small" role="alert">
          {props.error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="ghost" onClick={props.onClose}>
          Cancel
        </button>
        <button type="submit" class="primary" disabled={props.busy}>
          {props.submit}
        </button>
      </div>
    </>
  );
}

/**
 * The end of a confirmation: the last error, then Cancel (focused first) and the action
 * itself. `run` answers null when done (then `onDone`), or the sentence to show.
 */
export function ConfirmFooter(props: {
  confirm: string;
  run: () => Promise<string | null>;
  onDone: () => void;
  onCancel: () => void;
  cancelRef?: Ref<HTMLButtonElement>;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button ref={props.cancelRef} type="button" class="ghost" autoFocus onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          class="primary danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            const err = await props.run();
            setBusy(false);
            if (err) setError(err);
            else props.onDone();
          }}
        >
          {props.confirm}
        </button>
      </div>
    </>
  );
}
