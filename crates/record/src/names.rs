//! Closed sets of names: a status, an artefact kind, a rung metric. Each is an enum whose variants
//! are stored in the database, written in experiment files and typed on the command line as one
//! fixed text. [`named_enum!`](crate::named_enum) declares the enum with that text once; the list
//! of every variant, the text, `Display`, `FromStr` (whose error lists the valid names) and serde
//! all come from that one declaration, so a new variant is one line the compiler carries everywhere.

/// Declares a fieldless enum whose variants each have one name, given as `Variant = "name"`.
///
/// The enum gets `ALL` (every variant, in declaration order), `as_str`, `Display`, `FromStr` (the
/// error names what was parsed, the `noun` in parentheses, and lists the valid names), and
/// `Serialize`/`Deserialize` as that name. Further derives and doc comments pass through.
///
/// ```
/// pixelcnn_record::named_enum! {
///     /// A colour.
///     #[derive(Clone, Copy, Debug, PartialEq, Eq)]
///     pub enum Colour ("colour") {
///         /// Red.
///         Red = "red",
///         /// Dark blue.
///         DarkBlue = "dark_blue",
///     }
/// }
/// assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
/// assert_eq!("dark_blue".parse::<Colour>(), Ok(Colour::DarkBlue));
/// assert_eq!("green".parse::<Colour>().unwrap_err(), "unknown colour `green` (expected one of red, dark_blue)");
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($noun:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// Its name: the text stored, written in files and typed on the command line.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = ::std::string::String;

            fn from_str(text: &str) -> ::core::result::Result<Self, Self::Err> {
                $crate::names::parse(text, $noun, $name::ALL, $name::as_str)
            }
        }

        impl $crate::names::serde::Serialize for $name {
            fn serialize<S: $crate::names::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::names::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::names::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                let text = <::std::string::String as $crate::names::serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(<D::Error as $crate::names::serde::de::Error>::custom)
            }
        }
    };
}

#[doc(hidden)]
pub use serde;

/// `FromStr` of [`named_enum!`](crate::named_enum): the variant named `text`, or an error that
/// lists the valid names.
#[doc(hidden)]
pub fn parse<T: Copy, const N: usize>(
    text: &str,
    noun: &str,
    all: [T; N],
    name: fn(T) -> &'static str,
) -> Result<T, String> {
    all.into_iter().find(|&variant| name(variant) == text).ok_or_else(|| {
        let valid: Vec<&str> = all.into_iter().map(name).collect();
        format!("unknown {noun} `{text}` (expected one of {})", valid.join(", "))
    })
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Fruit ("fruit") {
            Apple = "apple",
            BloodOrange = "blood_orange",
        }
    }

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for fruit in Fruit::ALL {
            assert_eq!(fruit.as_str().parse::<Fruit>(), Ok(fruit));
            assert_eq!(fruit.to_string(), fruit.as_str());
            let json = serde_json::to_value(fruit).unwrap();
            assert_eq!(json, serde_json::json!(fruit.as_str()));
            assert_eq!(serde_json::from_value::<Fruit>(json).unwrap(), fruit);
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_valid_ones() {
        let error = "pear".parse::<Fruit>().unwrap_err();
        assert_eq!(error, "unknown fruit `pear` (expected one of apple, blood_orange)");
        let error = serde_json::from_value::<Fruit>(serde_json::json!("Apple")).unwrap_err();
        assert!(error.to_string().contains("unknown fruit `Apple`"), "{error}");
    }
}
