// A checkbox per contact, each named after them (New group, and Add members in Group info).

import type { Ref } from "preact";
import type { Contact } from "../lib/types";

export function ContactChecklist(props: {
  legend: string;
  contacts: readonly Contact[];
  /** Said when there is nobody to choose. */
  empty: string;
  picked: ReadonlySet<number>;
  onChange: (picked: Set<number>) => void;
  firstRef?: Ref<HTMLInputElement>;
}) {
  return (
    <fieldset class="members">
      <legend>{props.legend}</legend>
      {props.contacts.length === 0 && <p class="muted small">{props.empty}</p>}
      {props.contacts.map((c, i) => (
        <label key={c.user.id} class="check">
          <input
            ref={i === 0 ? props.firstRef : undefined}
            type="checkbox"
            checked={props.picked.has(c.user.id)}
            onChange={(e) => {
              const next = new Set(props.picked);
              if ((e.currentTarget as HTMLInputElement).checked) next.add(c.user.id);
              else next.delete(c.user.id);
              props.onChange(next);
            }}
          />
          <span>{c.name}</span>
        </label>
      ))}
    </fieldset>
  );
}
